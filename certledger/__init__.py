"""The application: the `certledger` command line, the demo, serving the services."""
