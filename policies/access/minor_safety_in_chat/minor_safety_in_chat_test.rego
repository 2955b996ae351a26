# Unit tests for access.minor_safety_in_chat, run by `opa test policies/`. The
# table-driven cases in minor_safety_in_chat_test.yaml run on every engine.
package access.minor_safety_in_chat_test

import rego.v1

import data.access.minor_safety_in_chat

mei := {"id": "mei.chen", "location": "US", "employment": "employee"}

mk_input(kind, classes) := {"as_of": "2026-11-29", "group": {
	"id": "g1",
	"platform": "lark",
	"kind": kind,
	"data_classes": classes,
	"subject_jurisdictions": ["US"],
	"owner": mei,
	"members": [mei],
}}

test_minor_safety_in_a_chat if {
	findings := minor_safety_in_chat.deny with input as mk_input("chat", ["minor_safety"])
	count(findings) == 1
	some msg in findings
	contains(msg, "g1")
	contains(msg, "minor_safety")
}

test_minor_safety_in_a_channel if {
	count(minor_safety_in_chat.deny) == 1 with input as mk_input("channel", ["minor_safety"])
}

test_minor_safety_in_a_mailing_list if {
	count(minor_safety_in_chat.deny) == 1 with input as mk_input("mailing-list", ["user_pii", "minor_safety"])
}

test_minor_safety_in_a_document_space if {
	count(minor_safety_in_chat.deny) == 0 with input as mk_input("document-space", ["minor_safety"])
}

test_minor_safety_in_a_case_queue if {
	count(minor_safety_in_chat.deny) == 0 with input as mk_input("case-queue", ["minor_safety"])
}

test_other_sensitive_data_in_a_chat if {
	count(minor_safety_in_chat.deny) == 0 with input as mk_input("chat", ["government_id", "user_pii"])
}

test_chat_without_data_classes if {
	group := {"id": "g1", "platform": "lark", "kind": "chat", "owner": mei, "members": [mei]}
	inp := {"as_of": "2026-11-29", "group": group}
	count(minor_safety_in_chat.deny) == 0 with input as inp
}
