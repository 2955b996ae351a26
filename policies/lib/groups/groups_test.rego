# Unit tests of the shared helpers, against the policy data in policies/data.yaml.
package lib.groups_test

import rego.v1

import data.lib.groups

test_classes_absent_is_empty if count(groups.classes({"id": "g"})) == 0

test_classes_null_is_empty if count(groups.classes({"id": "g", "data_classes": null})) == 0

test_jurisdictions_absent_is_empty if count(groups.jurisdictions({"id": "g"})) == 0

test_sensitive_classes_only_lists_sensitive_ones if {
	classes := ["public", "user_pii", "internal", "minor_safety"]
	groups.sensitive_classes({"data_classes": classes}) == {"minor_safety", "user_pii"}
}

test_sensitive_group if groups.sensitive({"data_classes": ["internal", "financial"]})

test_public_and_internal_are_not_sensitive if not groups.sensitive({"data_classes": ["public", "internal"]})

test_absent_classes_are_not_sensitive if not groups.sensitive({"id": "g"})

test_declares_jurisdictions if groups.declares_jurisdictions with input as {"group": {"subject_jurisdictions": ["US"]}}

test_empty_jurisdictions if not groups.declares_jurisdictions with input as {"group": {"subject_jurisdictions": []}}

test_absent_jurisdictions if not groups.declares_jurisdictions with input as {"group": {"id": "g"}}

test_approved_single_jurisdiction if groups.approved({"subject_jurisdictions": ["GB"]}) == {"GB", "IE"}

test_approved_is_the_intersection if groups.approved({"subject_jurisdictions": ["EU", "GB"]}) == {"IE"}

test_approved_with_global if groups.approved({"subject_jurisdictions": ["GLOBAL", "SG"]}) == {"SG"}

test_approved_without_common_location if count(groups.approved({"subject_jurisdictions": ["US", "SG"]})) == 0

test_approved_without_jurisdictions if count(groups.approved({"data_classes": ["user_pii"]})) == 0

test_approved_with_unknown_jurisdiction if count(groups.approved({"subject_jurisdictions": ["US", "XX"]})) == 0

test_employees_only_classes if {
	classes := ["user_pii", "government_id", "biometric"]
	groups.employees_only_classes({"data_classes": classes}) == {"biometric", "government_id"}
}

test_chat_forbidden_classes if {
	groups.chat_forbidden_classes({"data_classes": ["minor_safety", "user_pii"]}) == {"minor_safety"}
}

test_size_limit_is_the_smallest if groups.size_limit({"data_classes": ["user_pii", "minor_safety", "financial"]}) == 25

# 200 and 50 compared as text would make 200 the smallest.
test_size_limit_compares_numbers if groups.size_limit({"data_classes": ["user_pii", "government_id"]}) == 50

test_size_limit_ignores_classes_without_one if groups.size_limit({"data_classes": ["public", "financial"]}) == 100

test_no_size_limit if not groups.size_limit({"data_classes": ["public", "internal"]})

test_limiting_classes if {
	groups.limiting_classes({"data_classes": ["user_pii", "government_id", "biometric"]}) == {"biometric", "government_id"}
}

test_people_when_owner_listed if {
	ppl := groups.people({"owner": {"id": "a"}, "members": [{"id": "b"}, {"id": "a"}]})
	ppl == [{"id": "b"}, {"id": "a"}]
}

test_people_without_members_is_the_owner if groups.people({"owner": {"id": "a"}}) == [{"id": "a"}]

test_people_adds_unlisted_owner if {
	ppl := groups.people({"owner": {"id": "a"}, "members": [{"id": "b"}]})
	ppl == [{"id": "b"}, {"id": "a"}]
}

test_role_owner if groups.role({"id": "a"}) == "owner" with input as {"group": {"owner": {"id": "a"}}}

test_role_member if groups.role({"id": "b"}) == "member" with input as {"group": {"owner": {"id": "a"}}}

test_privacy_training if groups.privacy_training({"id": "a", "trainings": {"privacy": "2026-03-02"}}) == "2026-03-02"

test_privacy_training_missing if not groups.privacy_training({"id": "a", "trainings": {"security": "2026-03-02"}})

test_privacy_training_without_trainings if not groups.privacy_training({"id": "a"})

test_age_days_a_year if groups.age_days("2025-11-29") == 365 with input as {"as_of": "2026-11-29"}

test_age_days_a_leap_year if groups.age_days("2023-11-29") == 366 with input as {"as_of": "2024-11-29"}

test_age_days_across_february_29 if groups.age_days("2024-02-28") == 2 with input as {"as_of": "2024-03-01"}

test_age_days_same_day if groups.age_days("2026-11-29") == 0 with input as {"as_of": "2026-11-29"}

test_age_days_backwards if groups.age_days("2026-12-01") == -2 with input as {"as_of": "2026-11-29"}

test_age_days_without_a_valid_as_of if not groups.age_days("2026-11-29") with input as {"as_of": "2026-11-29T00:00:00Z"}

test_date_ns_rejects_other_formats if {
	not groups.date_ns("2026-1-2")
	not groups.date_ns("2026-11-29T00:00:00Z")
	not groups.date_ns(20261129)
}

test_privacy_training_with_a_malformed_date if {
	not groups.privacy_training({"id": "a", "trainings": {"privacy": "soon"}})
}

test_review_limit_default if groups.review_limit({"data_classes": ["user_pii", "public"]}) == 180

test_review_limit_is_the_smallest_of_the_sensitive_classes if {
	groups.review_limit({"data_classes": ["user_pii", "minor_safety", "financial"]}) == 90
}

test_review_limit_undefined_without_sensitive_data if not groups.review_limit({"data_classes": ["internal"]})

test_review_limit_from_data if {
	groups.review_limit({"data_classes": ["user_pii"]}) == 30 with data.review_max_age_days as 30
}

test_after if {
	groups.after("2026-11-30", "2026-11-29")
	not groups.after("2026-11-29", "2026-11-29")
}

test_chat_kinds if {
	"chat" in groups.chat_kinds
	"channel" in groups.chat_kinds
	"mailing-list" in groups.chat_kinds
	not "document-space" in groups.chat_kinds
	not "case-queue" in groups.chat_kinds
}

test_days_before_a_year if groups.days_before("2026-11-29", 365) == "2025-11-29"

test_days_before_across_a_leap_day if groups.days_before("2024-03-01", 1) == "2024-02-29"

test_days_before_across_a_year if groups.days_before("2026-01-05", 10) == "2025-12-26"

test_days_before_zero if groups.days_before("2026-11-29", 0) == "2026-11-29"

test_is_date if {
	groups.is_date("2026-11-29")
	not groups.is_date("2026-11-29T00:00:00Z")
	not groups.is_date(20261129)
	not groups.is_date("2026-1-29")
	not groups.is_date("2026-11-2x")
	not groups.is_date("x2026-11-29")
	not groups.is_date("2026-11-29\n")
	not groups.is_date("2026/11/29")
	not groups.is_date("")
}

test_everyone_is_people_of_the_input if {
	g := {"id": "g", "owner": {"id": "a"}, "members": [{"id": "b"}]}
	groups.everyone == [{"id": "b"}, {"id": "a"}] with input as {"group": g}
}

test_group_under_evaluation if {
	g := {
		"id": "g",
		"data_classes": ["user_pii", "financial", "internal"],
		"subject_jurisdictions": ["EU", "GB"],
		"owner": {"id": "a"},
		"members": [{"id": "a"}],
	}
	groups.owner_id == "a" with input as {"group": g}
	groups.holds_sensitive with input as {"group": g}
	groups.held_sensitive == {"financial", "user_pii"} with input as {"group": g}
	groups.declares_jurisdictions with input as {"group": g}
	groups.declared_jurisdictions == {"EU", "GB"} with input as {"group": g}
	groups.approved_locations == {"IE"} with input as {"group": g}
}

test_group_under_evaluation_without_sensitive_data if {
	not groups.holds_sensitive with input as {"group": {"id": "g", "data_classes": ["internal"]}}
	count(groups.held_sensitive) == 0 with input as {"group": {"id": "g"}}
}
