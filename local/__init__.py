"""Local stand-ins for the services the project talks to (dev and test only)."""
