"""MongoDB access: the client, the embedded server launcher and the index registry."""
