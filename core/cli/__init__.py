"""The ``cwdesk`` command line: the window's accounts, creates, lists and batches, without Qt.

Only the standard library is imported until a command runs (``cwdesk --help`` stays quick);
the commands bring in the client, the password manager and pydantic when they need them.
"""
