use trunk_ci_analytics::{Conclusion, track_event};

#[track_event]
fn sync_body() -> u32 {
    let s: String = 5;
    s.len() as u32
}

#[track_event]
async fn async_body() -> Result<u32, String> {
    let n: u32 = "x";
    Ok(n)
}

struct Opaque;

#[track_event(tags(value = Opaque), metrics(count = "ten"))]
fn bad_values() {}

fn wrong_signature(_: u32) -> Conclusion {
    Conclusion::Success
}

#[track_event(conclusion = wrong_signature)]
fn bad_conclusion() -> bool {
    true
}

fn main() {}
