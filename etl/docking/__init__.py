"""Connectors that bring utilities' data in (R120–R124): the OPC UA poller and the shared storage/state path."""
