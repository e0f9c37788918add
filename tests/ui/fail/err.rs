use trunk_ci_analytics::track_event;

#[track_event(err)]
fn unit() {}

#[track_event(err)]
fn number() -> u32 {
    1
}

struct NoDisplay;

#[track_event(err)]
fn not_display() -> Result<(), NoDisplay> {
    Err(NoDisplay)
}

#[track_event(err)]
async fn async_option() -> Option<u8> {
    None
}

#[track_event(err)]
fn boxed() -> std::pin::Pin<Box<dyn std::future::Future<Output = u8> + Send>> {
    Box::pin(async move { 1 })
}

#[async_trait::async_trait]
trait Job {
    async fn run(&self) -> bool;
}

#[async_trait::async_trait]
impl Job for NoDisplay {
    #[track_event(err)]
    async fn run(&self) -> bool {
        true
    }
}

#[track_event(err)]
fn never() -> ! {
    panic!()
}

#[track_event(err = 1)]
fn bad_flag() -> Result<(), String> {
    Ok(())
}

#[track_event(err, err)]
fn twice() -> Result<(), String> {
    Ok(())
}

fn main() {}
