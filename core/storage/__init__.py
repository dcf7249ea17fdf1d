"""What the app keeps: instance records, saved accounts, the password manager, where its files live, and how they are written."""
