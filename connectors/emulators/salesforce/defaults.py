"""The default schema of the objects the sync reads and writes, as an agency's org has them.

Kept apart from `salesforce_schema` (which renders and checks a schema) because it is data: the
custom Takedown Request object with the fields `config/sandbox.toml` maps, Account with its TDA
status, User, and the approval-history objects the connector reaches through `ProcessSteps`.
Labels, types and picklist values are what `python -m sync check` validates and what a field-mapping
`python -m sync init` reads, so they are written as an admin would have set them up.
"""

from __future__ import annotations

from typing import Any

SYSTEM_FIELDS: dict[str, dict[str, Any]] = {
    "Id": {"name": "Id", "type": "id", "label": "Record ID", "nillable": False},
    "IsDeleted": {"name": "IsDeleted", "type": "boolean", "label": "Deleted"},
    "CreatedDate": {"name": "CreatedDate", "type": "datetime", "label": "Created Date"},
    "CreatedById": {
        "name": "CreatedById",
        "type": "reference",
        "label": "Created By ID",
        "referenceTo": ["User"],
        "relationshipName": "CreatedBy",
    },
    "LastModifiedDate": {
        "name": "LastModifiedDate",
        "type": "datetime",
        "label": "Last Modified Date",
    },
    "LastModifiedById": {
        "name": "LastModifiedById",
        "type": "reference",
        "label": "Last Modified By ID",
        "referenceTo": ["User"],
        "relationshipName": "LastModifiedBy",
    },
    "SystemModstamp": {"name": "SystemModstamp", "type": "datetime", "label": "System Modstamp"},
}

# Objects every org has, whether or not a scenario names them.
STANDARD_OBJECTS = (
    "Account",
    "User",
    "ProcessInstance",
    "ProcessInstanceStep",
    "ProcessInstanceHistory",
    "Name",
)

_OWNER = {
    "name": "OwnerId",
    "type": "reference",
    "label": "Owner ID",
    "referenceTo": ["Group", "User"],
    "relationshipName": "Owner",
    "nillable": False,
    "defaultedOnCreate": True,
}
_APPROVAL_CHILDREN = [
    {"relationshipName": "ProcessInstances", "childSObject": "ProcessInstance",
     "field": "TargetObjectId"},
    {"relationshipName": "ProcessSteps", "childSObject": "ProcessInstanceHistory",
     "field": "TargetObjectId"},
]  # fmt: skip
_STEP_STATUS = ["Approved", "Fault", "Held", "NoResponse", "Pending", "Reassigned", "Rejected"]
_STEP_STATUS += ["Removed", "Started"]


def _read_only(*fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**f, "updateable": False, "createable": False} for f in fields]


_STEP_FIELDS = _read_only(
    {"name": "ProcessInstanceId", "type": "reference", "label": "Process Instance ID",
     "referenceTo": ["ProcessInstance"], "relationshipName": "ProcessInstance"},
    {"name": "StepStatus", "type": "picklist", "label": "Status",
     "picklistValues": _STEP_STATUS, "length": 40},
    {"name": "ActorId", "type": "reference", "label": "Actual Approver ID",
     "referenceTo": ["Group", "User"], "relationshipName": "Actor"},
    {"name": "OriginalActorId", "type": "reference", "label": "Assigned Approver ID",
     "referenceTo": ["Group", "User"], "relationshipName": "OriginalActor"},
    {"name": "Comments", "type": "textarea", "label": "Comments", "length": 4000},
    {"name": "StepNodeId", "type": "reference", "label": "Step Node ID",
     "referenceTo": ["ProcessNode"], "relationshipName": "StepNode"},
)  # fmt: skip

DEFAULTS: dict[str, dict[str, Any]] = {
    "Takedown_Request__c": {
        "label": "Takedown Request",
        "labelPlural": "Takedown Requests",
        "keyPrefix": "a0T",
        "childRelationships": _APPROVAL_CHILDREN,
        "fields": [
            _OWNER,
            {
                "name": "Name",
                "type": "string",
                "label": "Takedown Request Number",
                "length": 80,
                "autoNumber": True,
                "nillable": False,
            },
            {
                "name": "Account__c",
                "type": "reference",
                "label": "Account",
                "referenceTo": ["Account"],
                "relationshipName": "Account__r",
            },
            {
                "name": "Request_Type__c",
                "type": "picklist",
                "label": "Request Type",
                "restrictedPicklist": True,
                "picklistValues": ["Cancellation", "Contract Pause", "Contract Change"],
            },
            {
                "name": "Status__c",
                "type": "picklist",
                "label": "Status",
                "restrictedPicklist": True,
                "picklistValues": [
                    "Draft",
                    "Pending Approval",
                    "Approved",
                    "Rejected",
                    "Withdrawn",
                ],
            },
            {"name": "Effective_Date__c", "type": "date", "label": "Effective Date"},
            {"name": "Reason__c", "type": "textarea", "label": "Reason", "length": 255},
            {
                "name": "Platform__c",
                "type": "picklist",
                "label": "Platform",
                "restrictedPicklist": True,
                "picklistValues": ["DS", "ARI"],
            },
            {"name": "Leaving_Platform__c", "type": "boolean", "label": "Leaving Platform"},
            {
                "name": "Credit_Amount__c",
                "type": "currency",
                "label": "Credit Amount",
                "precision": 16,
                "scale": 2,
            },
            {
                "name": "Product_Change_Notes__c",
                "type": "textarea",
                "label": "Product Change Notes",
                "length": 32768,
            },
            {
                "name": "New_Package_Or_Budget__c",
                "type": "string",
                "label": "New Package or Budget",
                "length": 255,
            },
            {
                "name": "Services__c",
                "type": "multipicklist",
                "label": "Services",
                "picklistValues": ["TDA", "SEO", "SEM", "Social"],
            },
            {
                "name": "Sync_Status__c",
                "type": "picklist",
                "label": "Sync Status",
                "restrictedPicklist": True,
                "picklistValues": [
                    "Synced",
                    "Synced - offboarding scheduled",
                    "Offboarded",
                    "Undone",
                    "Withdrawn after sync acted",
                ],
            },
            {
                "name": "Sync_Message__c",
                "type": "textarea",
                "label": "Sync Message",
                "length": 32768,
            },
        ],
    },
    "Account": {
        "label": "Account",
        "keyPrefix": "001",
        "childRelationships": [
            *_APPROVAL_CHILDREN,
            {
                "relationshipName": "Takedown_Requests__r",
                "childSObject": "Takedown_Request__c",
                "field": "Account__c",
            },
        ],
        "fields": [
            _OWNER,
            {
                "name": "Name",
                "type": "string",
                "label": "Account Name",
                "length": 255,
                "nillable": False,
            },
            {
                "name": "Platform__c",
                "type": "picklist",
                "label": "Platform",
                "restrictedPicklist": True,
                "picklistValues": ["DS", "ARI"],
            },
            {
                "name": "TDA_Status__c",
                "type": "picklist",
                "label": "TDA Status",
                "restrictedPicklist": True,
                "picklistValues": ["Active", "Cancelled", "Paused", "Contract Changed"],
            },
        ],
    },
    "User": {
        "label": "User",
        "keyPrefix": "005",
        "fields": [
            {
                "name": "Username",
                "type": "string",
                "label": "Username",
                "length": 80,
                "nillable": False,
            },
            {
                "name": "Name",
                "type": "string",
                "label": "Full Name",
                "length": 121,
                "updateable": False,
                "createable": False,
            },
            {"name": "FirstName", "type": "string", "label": "First Name", "length": 40},
            {"name": "LastName", "type": "string", "label": "Last Name", "length": 80},
            {"name": "Email", "type": "email", "label": "Email"},
            {"name": "IsActive", "type": "boolean", "label": "Active"},
        ],
    },
    "ProcessInstance": {
        "label": "Approval Process",
        "keyPrefix": "04g",
        "createable": False,
        "updateable": False,
        "childRelationships": [
            {
                "relationshipName": "Steps",
                "childSObject": "ProcessInstanceStep",
                "field": "ProcessInstanceId",
            },
            {
                "relationshipName": "StepsAndWorkitems",
                "childSObject": "ProcessInstanceHistory",
                "field": "ProcessInstanceId",
            },
        ],
        "fields": _read_only(
            {
                "name": "TargetObjectId",
                "type": "reference",
                "label": "Target Object ID",
                "referenceTo": ["Account", "Takedown_Request__c"],
                "relationshipName": "TargetObject",
            },
            {
                "name": "Status",
                "type": "picklist",
                "label": "Status",
                "length": 40,
                "picklistValues": _STEP_STATUS,
            },
            {"name": "CompletedDate", "type": "datetime", "label": "Completed Date"},
            {
                "name": "LastActorId",
                "type": "reference",
                "label": "Last Approver ID",
                "referenceTo": ["User"],
                "relationshipName": "LastActor",
            },
            {
                "name": "SubmittedById",
                "type": "reference",
                "label": "Submitted By ID",
                "referenceTo": ["User"],
                "relationshipName": "SubmittedBy",
            },
        ),
    },
    "ProcessInstanceStep": {
        "label": "Approval Step",
        "keyPrefix": "04h",
        "createable": False,
        "updateable": False,
        "fields": _STEP_FIELDS,
    },
    "ProcessInstanceHistory": {
        "label": "Approval History",
        "keyPrefix": "04h",
        "createable": False,
        "updateable": False,
        "queryable": False,  # only through a parent's ProcessSteps subquery
        "fields": [
            *_STEP_FIELDS,
            *_read_only(
                {
                    "name": "TargetObjectId",
                    "type": "reference",
                    "label": "Target Object ID",
                    "referenceTo": ["Account", "Takedown_Request__c"],
                    "relationshipName": "TargetObject",
                },
                {"name": "IsPending", "type": "boolean", "label": "Pending"},
                {"name": "RemindersSent", "type": "int", "label": "Reminders Sent"},
            ),
        ],
    },
    # What a polymorphic relationship (Actor, Owner) leads to in SOQL.
    "Name": {
        "label": "Name",
        "createable": False,
        "updateable": False,
        "queryable": False,
        "fields": _read_only(
            {"name": "Name", "type": "string", "label": "Full Name", "length": 255},
            {"name": "Type", "type": "picklist", "label": "Type", "length": 40},
            {"name": "Alias", "type": "string", "label": "Alias", "length": 8},
            {"name": "Email", "type": "email", "label": "Email"},
            {"name": "FirstName", "type": "string", "label": "First Name", "length": 40},
            {"name": "LastName", "type": "string", "label": "Last Name", "length": 80},
            {"name": "Username", "type": "string", "label": "Username", "length": 80},
            {"name": "IsActive", "type": "boolean", "label": "Active"},
        ),
    },
}
