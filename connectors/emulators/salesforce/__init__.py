"""A Salesforce org: REST and SOAP login, SOQL, describe, records, sObject Collections.

`server` (the org and its routes), `schema` and `defaults` (objects and fields), `soql` (the
SOQL subset), `query` and `writes` (the routes), `checks` (what the org refuses).
May import what `connectors.emulators` may.
"""
