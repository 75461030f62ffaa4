"""The external target of the accuracy bench: HAProxy in front of two tiny backends."""
