"""The account bar and the account dialog."""
