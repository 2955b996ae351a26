# Unit tests for access.minor_safety_in_chat, run by `opa test policies/`. The
# table-driven cases in minor_safety_in_chat_test.yaml run on every engine.
package access.minor_safety_in_chat

import rego.v1

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
	findings := deny with input as mk_input("chat", ["minor_safety"])
	count(findings) == 1
	some msg in findings
	contains(msg, "g1")
	contains(msg, "minor_safety")
}

test_minor_safety_in_a_channel if {
	count(deny) == 1 with input as mk_input("channel", ["minor_safety"])
}

test_minor_safety_in_a_mailing_list if {
	count(deny) == 1 with input as mk_input("mailing-list", ["user_pii", "minor_safety"])
}

test_minor_safety_in_a_document_space if {
	count(deny) == 0 with input as mk_input("document-space", ["minor_safety"])
}

test_minor_safety_in_a_case_queue if {
	count(deny) == 0 with input as mk_input("case-queue", ["minor_safety"])
}

test_other_sensitive_data_in_a_chat if {
	count(deny) == 0 with input as mk_input("chat", ["government_id", "user_pii"])
}

test_chat_without_data_classes if {
	inp := {"as_of": "2026-11-29", "group": {"id": "g1", "platform": "lark", "kind": "chat", "owner": mei, "members": [mei]}}
	count(deny) == 0 with input as inp
}
