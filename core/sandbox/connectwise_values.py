"""The ConnectWise sandbox's one known site, as values (documented in docs/platform-notes.md,
"ConnectWise checks"). Their own small module: the window names them beside the sandbox's
address without loading the sandbox's HTTP server."""

COMPANY = "sandbox"
COMPANY_NAME = "Sandbox Company"
CODEBASE = "v2025_1/"
VERSION_CODE = "v2025.1"
VERSION_NUMBER = "v2025.1.10001"
COMPANY_ID = "sandbox"
PUBLIC_KEY = "sandbox-public"
PRIVATE_KEY = "sandbox-private"
CLIENT_ID = "00000000-0000-4000-8000-00000000c0de"
USERNAME = "integrator"
PASSWORD = "sandbox-password"  # noqa: S105 - the sandbox's published test login
NO_ROLE_PUBLIC_KEY = "norole"
