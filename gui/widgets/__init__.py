"""Small widgets and the window's text rules: plain text from outside, focus order, Alt-letters, the clipboard."""
