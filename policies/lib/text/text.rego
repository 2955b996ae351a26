# METADATA
# title: Text helpers for messages
# description: |
#   Words for people, never Rego syntax: a set or array of strings is shown as
#   `US`, `US and IE` or `DE, IE and US` (sorted), and an empty one as `none`.
#   Written without sort (the embedded engine sorts numbers wrongly) and without
#   relying on the order a set is iterated in, which engines do not promise. The rules at the
#   end put the group under evaluation's sets (lib.groups) in words once per query, for every
#   family.
package lib.text

import rego.v1

import data.lib.groups

# The strings of set or array s, once each, in ascending order: each string's rank is
# the number of strings below it, counted once per string (not once per rank and string).
sorted_strings(s) := [ranked[i] |
	items := {y | some y in s}
	ranked := {count([y | some y in items; y < x]): x | some x in items}
	some i in numbers.range(0, count(items) - 1)
]

# Set or array s as "a", "a and b" or "a, b and c" (sorted); "none" when empty.
listing(s) := "none" if {
	count(s) == 0
} else := text if {
	# one item, the common case, needs no sorting
	count(s) == 1
	some text in s
} else := words(sorted_strings(s))

# The sorted strings of a non-empty array as "a", "a and b" or "a, b and c".
words(items) := items[0] if {
	count(items) == 1
} else := text if {
	n := count(items)

	# trim(_, "") changes nothing, but the embedded engine keeps the quotes of a concat
	# result when sprintf's %s inserts it; a trimmed string comes out plain.
	text := trim(concat(" and ", [concat(", ", array.slice(items, 0, n - 1)), items[n - 1]]), "")
}

# The sensitive classes, subject jurisdictions and approved staff locations of the group under
# evaluation, in words: rules, which the embedded engine computes once per query (see lib.groups).
sensitive_classes_shown := listing(groups.held_sensitive)

jurisdictions_shown := listing(groups.declared_jurisdictions)

approved_locations_shown := listing(groups.approved_locations)
