"""Files the app reads at run time; installed as the package data `gui.assets`."""
