pub fn run() -> Result<(), &'static str> {
    Ok(())
}
