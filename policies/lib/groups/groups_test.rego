# Unit tests of the shared helpers, against the policy data in policies/data.yaml.
package lib.groups

import rego.v1

test_classes_absent_is_empty if count(classes({"id": "g"})) == 0

test_classes_null_is_empty if count(classes({"id": "g", "data_classes": null})) == 0

test_jurisdictions_absent_is_empty if count(jurisdictions({"id": "g"})) == 0

test_sensitive_classes_only_lists_sensitive_ones if {
	sensitive_classes({"data_classes": ["public", "user_pii", "internal", "minor_safety"]}) == {"minor_safety", "user_pii"}
}

test_sensitive_group if sensitive({"data_classes": ["internal", "financial"]})

test_public_and_internal_are_not_sensitive if not sensitive({"data_classes": ["public", "internal"]})

test_absent_classes_are_not_sensitive if not sensitive({"id": "g"})

test_has_jurisdictions if has_jurisdictions({"subject_jurisdictions": ["US"]})

test_empty_jurisdictions if not has_jurisdictions({"subject_jurisdictions": []})

test_approved_single_jurisdiction if approved({"subject_jurisdictions": ["GB"]}) == {"GB", "IE"}

test_approved_is_the_intersection if approved({"subject_jurisdictions": ["EU", "GB"]}) == {"IE"}

test_approved_with_global if approved({"subject_jurisdictions": ["GLOBAL", "SG"]}) == {"SG"}

test_approved_without_common_location if count(approved({"subject_jurisdictions": ["US", "SG"]})) == 0

test_approved_without_jurisdictions if count(approved({"data_classes": ["user_pii"]})) == 0

test_approved_with_unknown_jurisdiction if count(approved({"subject_jurisdictions": ["US", "XX"]})) == 0

test_employees_only_classes if {
	employees_only_classes({"data_classes": ["user_pii", "government_id", "biometric"]}) == {"biometric", "government_id"}
}

test_chat_forbidden_classes if chat_forbidden_classes({"data_classes": ["minor_safety", "user_pii"]}) == {"minor_safety"}

test_size_limit_is_the_smallest if size_limit({"data_classes": ["user_pii", "minor_safety", "financial"]}) == 25

# 200 and 50 compared as text would make 200 the smallest.
test_size_limit_compares_numbers if size_limit({"data_classes": ["user_pii", "government_id"]}) == 50

test_size_limit_ignores_classes_without_one if size_limit({"data_classes": ["public", "financial"]}) == 100

test_no_size_limit if not size_limit({"data_classes": ["public", "internal"]})

test_limiting_classes if {
	limiting_classes({"data_classes": ["user_pii", "government_id", "biometric"]}) == {"biometric", "government_id"}
}

test_people_when_owner_listed if {
	ppl := people({"owner": {"id": "a"}, "members": [{"id": "b"}, {"id": "a"}]})
	ppl == [{"id": "b"}, {"id": "a"}]
}

test_people_adds_unlisted_owner if {
	ppl := people({"owner": {"id": "a"}, "members": [{"id": "b"}]})
	ppl == [{"id": "b"}, {"id": "a"}]
}

test_role_owner if role({"owner": {"id": "a"}}, {"id": "a"}) == "owner"

test_role_member if role({"owner": {"id": "a"}}, {"id": "b"}) == "member"

test_privacy_training if privacy_training({"id": "a", "trainings": {"privacy": "2026-03-02"}}) == "2026-03-02"

test_privacy_training_missing if not privacy_training({"id": "a", "trainings": {"security": "2026-03-02"}})

test_privacy_training_without_trainings if not privacy_training({"id": "a"})

test_days_between_a_year if days_between("2025-11-29", "2026-11-29") == 365

test_days_between_a_leap_year if days_between("2023-11-29", "2024-11-29") == 366

test_days_between_across_february_29 if days_between("2024-02-28", "2024-03-01") == 2

test_days_between_same_day if days_between("2026-11-29", "2026-11-29") == 0

test_days_between_backwards if days_between("2026-12-01", "2026-11-29") == -2

test_date_ns_rejects_other_formats if {
	not date_ns("2026-1-2")
	not date_ns("2026-11-29T00:00:00Z")
	not date_ns(20261129)
}

test_privacy_training_with_a_malformed_date if not privacy_training({"id": "a", "trainings": {"privacy": "soon"}})

test_shown_set if shown({"a", "b"}) == {"a", "b"}

test_shown_empty if shown(set()) == "none"

test_chat_kinds if {
	"chat" in chat_kinds
	"channel" in chat_kinds
	"mailing-list" in chat_kinds
	not "document-space" in chat_kinds
	not "case-queue" in chat_kinds
}

test_days_before_a_year if days_before("2026-11-29", 365) == "2025-11-29"

test_days_before_across_a_leap_day if days_before("2024-03-01", 1) == "2024-02-29"

test_days_before_across_a_year if days_before("2026-01-05", 10) == "2025-12-26"

test_days_before_zero if days_before("2026-11-29", 0) == "2026-11-29"

test_is_date if {
	is_date("2026-11-29")
	not is_date("2026-11-29T00:00:00Z")
	not is_date(20261129)
}

test_everyone_is_people_of_the_input if {
	g := {"id": "g", "owner": {"id": "a"}, "members": [{"id": "b"}]}
	everyone == [{"id": "b"}, {"id": "a"}] with input as {"group": g}
}
