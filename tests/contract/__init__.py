"""The connector contract: one suite of test bodies over every connector (cases.py)."""
