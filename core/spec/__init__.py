"""What a user types and what it becomes: the connectors as data, the field checks, the validated account and draft, and the request's showable forms."""
