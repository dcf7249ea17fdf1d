"""The Instances tab: its table and the dialogs for one instance."""
