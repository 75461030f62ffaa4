"""`chaosrun suite`: many experiments, each as its own `chaosrun run` child (see `runner`)."""
