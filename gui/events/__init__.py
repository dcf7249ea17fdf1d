"""The Events tab: the local receiver's notifications, checked and shown."""
