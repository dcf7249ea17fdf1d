"""ConnectWise itself: the checks made before Open Connectors logs in to it, and what they mean for the form."""
