"""placeholder; being written."""

COMMANDS: list = []
