use trunk_ci_analytics::track_event;

#[track_event(nmae = "build")]
fn unknown() {}

#[track_event(name = "a", root, name = "b", root)]
fn duplicate() {}

#[track_event(name = build, kind)]
fn not_a_string() {}

#[track_event(tags = 1, metrics)]
fn list_without_parentheses() {}

#[track_event("build")]
fn positional() {}

fn main() {
    // The functions are still emitted: no "cannot find function" errors below.
    unknown();
    duplicate();
    not_a_string();
    list_without_parentheses();
    positional();
}
