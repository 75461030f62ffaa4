"""Recording what reaches a dependency, from outside it (`chaosrun.record.relay`)."""
