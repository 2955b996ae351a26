# Unit tests of lib.text, run by `opa test policies/`.
package lib.text_test

import rego.v1

import data.lib.text

test_empty_set_is_none if text.listing(set()) == "none"

test_empty_array_is_none if text.listing([]) == "none"

test_one_item if text.listing({"US"}) == "US"

test_two_items_sorted if text.listing({"US", "IE"}) == "IE and US"

test_three_items_sorted if text.listing(["US", "IE", "DE"]) == "DE, IE and US"

test_duplicates_in_an_array_once if text.listing(["US", "US", "IE"]) == "IE and US"

# A string that is a prefix of another sorts first (engines have differed on sets of such strings).
test_prefix_sorts_first if text.listing({"user_pii_ext", "user_pii"}) == "user_pii and user_pii_ext"

test_no_rego_syntax if {
	shown := text.listing({"government_id", "user_pii"})
	not contains(shown, "{")
	not contains(shown, "[")
	not contains(shown, "\"")
}

test_group_under_evaluation_in_words if {
	g := {
		"id": "g",
		"data_classes": ["user_pii", "financial", "internal"],
		"subject_jurisdictions": ["EU", "GB"],
		"owner": {"id": "a"},
		"members": [{"id": "a"}],
	}
	text.sensitive_classes_shown == "financial and user_pii" with input as {"group": g}
	text.jurisdictions_shown == "EU and GB" with input as {"group": g}
	text.approved_locations_shown == "IE" with input as {"group": g}
}

test_no_sensitive_data_in_words if text.sensitive_classes_shown == "none" with input as {"group": {"id": "g"}}
