from checks.cli import entry

entry()
