"""Dialogs opened from the menus: About, Batch create."""
