"""Webhook events: the local receiver and the signatures."""
