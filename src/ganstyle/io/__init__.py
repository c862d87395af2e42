"""Image and checkpoint I/O: everything that touches a user's files goes through here."""
