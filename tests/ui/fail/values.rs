use trunk_ci_analytics::track_event;

#[track_event(platform = "Jenkins")]
fn capitalized_platform() {}

#[track_event(platform = "GitHub Actions")]
fn spaced_platform() {}

#[track_event(key = "k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k123456789k1234567")]
fn key_of_128_characters() {}

#[track_event(key = "", name = "", kind = " ")]
fn empty_values() {}

#[track_event(tags(1 = 2, a.b = 3), metrics(duration_ms = 1), sequence_tags(x = 1, x = 2, "" = 3))]
fn bad_keys() {}

fn main() {}
