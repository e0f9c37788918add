use trunk_ci_analytics::track_event;

#[track_event]
struct Config {
    verbose: bool,
}

#[track_event]
impl Config {
    fn verbose(&self) -> bool {
        self.verbose
    }
}

#[track_event]
const LIMIT: u32 = 3;

#[track_event]
const fn compile_time() -> u32 {
    3
}

trait Step {
    #[track_event]
    fn run(&self);
}

fn main() {}
