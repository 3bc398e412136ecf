//! Tauri's build step, with the app config at the repository root and permissions generated
//! for the two commands the web UI may call from its remote (http://127.0.0.1) origin.

fn main() {
    let attrs = tauri_build::Attributes::new()
        .config_path("../../tauri.conf.json")
        .app_manifest(
            tauri_build::AppManifest::new().commands(&["get_autostart", "set_autostart"]),
        );
    if let Err(e) = tauri_build::try_build(attrs) {
        eprintln!("tauri build step failed: {e:#}");
        std::process::exit(1);
    }
}
