"""The Open Connectors platform: its client, its errors, what it says about an instance, and its hosts."""
