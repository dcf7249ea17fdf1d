"""The Create tab: the form built from the connector specs, its ConnectWise check, and the outcome panels."""
