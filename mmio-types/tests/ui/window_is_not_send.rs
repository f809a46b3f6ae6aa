#[path = "common/dev.rs"]
mod dev;

fn main() {
    let window = dev::window();
    std::thread::spawn(move || drop(window));
}
