//! The tray app's event loop (`tao`, on GTK on Linux): one thread owns the tray and the window
//! processes; the engine and everything slow run on a tokio runtime beside it and talk to the
//! loop only through [`AppEvent`]s.

use std::sync::Arc;

use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoop, EventLoopBuilder, EventLoopProxy};
use tray_icon::menu::{MenuEvent, MenuId};

use crate::shell::Shell;
use crate::single_instance::{Instance, Request};
use crate::tray::{Action, Tray};
use crate::window::Windows;

/// What other threads ask of the event loop.
#[derive(Debug)]
pub enum AppEvent {
    /// A tray menu item was chosen.
    Menu(MenuId),
    /// The app was launched again.
    Launched(Request),
    /// The engine's state changed: bring the tray up to date.
    Redraw,
    /// Quit (a signal from the session).
    Quit,
    /// The panel's StatusNotifier watcher does not list the tray icon: make a new one.
    TrayLost,
}

/// Builds the event loop; GTK panics when the display is set but unusable, which becomes a
/// message.
fn event_loop() -> Result<EventLoop<AppEvent>, String> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built =
        std::panic::catch_unwind(|| EventLoopBuilder::<AppEvent>::with_user_event().build());
    std::panic::set_hook(quiet);
    built.map_err(|p| {
        let what = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!(
            "cannot open the display ({what}). The desktop app needs a graphical session; \
             on a server run the headless engine instead: `switchyard serve`"
        )
    })
}

fn send(proxy: &EventLoopProxy<AppEvent>, ev: AppEvent) {
    // Fails only once the loop has ended, when nothing is left to tell.
    let _ = proxy.send_event(ev);
}

/// Quit on SIGTERM / SIGINT (the session ending, Ctrl-C in a terminal) the same way as from the
/// menu: the engine finishes its requests and writes its usage ledger.
async fn quit_on_signal(proxy: EventLoopProxy<AppEvent>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    send(&proxy, AppEvent::Quit);
}

/// What the event loop's thread owns.
struct Ui {
    shell: Arc<Shell>,
    tray: Option<Tray>,
    /// Tray icons made so far (each new one gets its own D-Bus object).
    trays_made: u32,
    windows: Windows,
    /// The engine's runtime: owned here so that it lives exactly as long as the loop (which
    /// never returns; the process exits from it).
    _runtime: tokio::runtime::Runtime,
    proxy: EventLoopProxy<AppEvent>,
    #[cfg(target_os = "linux")]
    host_watch: Option<crate::tray_host::HostWatch>,
}

/// Whether the loop goes on.
#[derive(PartialEq, Eq)]
enum Next {
    Continue,
    Quit,
}

impl Ui {
    fn create_tray(&mut self) {
        self.tray = None;
        let generation = self.trays_made;
        self.trays_made += 1;
        match Tray::create(self.shell.model(), generation) {
            Ok(t) => self.tray = Some(t),
            // No tray support at all: the window and the engine still work.
            Err(e) => tracing::warn!("no tray icon: {e}"),
        }
    }

    fn start(&mut self, autostarted: bool) {
        self.create_tray();
        #[cfg(target_os = "linux")]
        {
            let p = self.proxy.clone();
            self.host_watch = Some(crate::tray_host::watch(Arc::new(move || {
                send(&p, AppEvent::TrayLost)
            })));
        }
        // The login item starts the app quietly, unless there is a problem to show.
        if !autostarted || self.shell.engine.is_err() {
            self.windows.open(&self.shell);
        }
    }

    fn redraw(&mut self) {
        if let Some(t) = self.tray.as_mut() {
            t.show(self.shell.model());
        }
    }

    fn on_action(&mut self, action: Action) -> Next {
        match action {
            Action::Pin(id) => self.shell.pin(Some(&id)),
            Action::Automatic => self.shell.pin(None),
            Action::Open => self.windows.open(&self.shell),
            Action::CopyEndpoint => {
                if let Some(url) = self.shell.endpoint() {
                    if let Err(e) = crate::clipboard::copy(&url) {
                        tracing::warn!("clipboard: {e}");
                    }
                }
            }
            Action::Configure(client) => self.shell.toggle_client(client),
            Action::StartAtLogin => self.shell.toggle_autostart(),
            Action::NotifyOnFailover => self.shell.toggle_failover_notifications(),
            Action::Quit => return Next::Quit,
        }
        Next::Continue
    }

    fn on_event(&mut self, ev: AppEvent) -> Next {
        match ev {
            AppEvent::Menu(id) => {
                let next = Action::of(&id).map_or(Next::Continue, |a| self.on_action(a));
                // Check items flip themselves when chosen; put every mark back where the
                // state says.
                self.redraw();
                next
            }
            AppEvent::Launched(Request::Open) => {
                self.windows.open(&self.shell);
                Next::Continue
            }
            AppEvent::Launched(Request::Autostart) => Next::Continue,
            AppEvent::Redraw => {
                self.redraw();
                Next::Continue
            }
            AppEvent::Quit => Next::Quit,
            AppEvent::TrayLost => {
                self.create_tray();
                Next::Continue
            }
        }
    }

    fn stop(&mut self) {
        #[cfg(target_os = "linux")]
        {
            self.host_watch = None;
        }
        self.windows.close_all();
        self.shell.stop();
        // Remove the icon before the process ends, not whenever the panel notices.
        self.tray = None;
    }
}

/// Runs the tray app until "Quit".
pub fn run(autostarted: bool, instance: Option<Instance>) -> Result<(), String> {
    // One worker, as `switchyard serve` defaults to: the least CPU and memory per request
    // for one person's clients (multi-thread flavour, so large requests can be translated off
    // the worker).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("switchyard")
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let event_loop = event_loop()?;
    let proxy = event_loop.create_proxy();

    let redraw_proxy = proxy.clone();
    let shell = Shell::start(
        &runtime,
        Arc::new(move || send(&redraw_proxy, AppEvent::Redraw)),
    );
    if let Some(instance) = instance {
        let p = proxy.clone();
        instance.serve(move |req| send(&p, AppEvent::Launched(req)));
    }
    let p = proxy.clone();
    MenuEvent::set_event_handler(Some(move |e: MenuEvent| send(&p, AppEvent::Menu(e.id))));
    runtime.spawn(quit_on_signal(proxy.clone()));

    let mut ui = Ui {
        shell,
        tray: None,
        trays_made: 0,
        windows: Windows::default(),
        _runtime: runtime,
        proxy,
        #[cfg(target_os = "linux")]
        host_watch: None,
    };
    event_loop.run(move |event, _, flow| {
        *flow = ControlFlow::Wait;
        let next = match event {
            // The tray is created once the loop runs (macOS requires it).
            Event::NewEvents(StartCause::Init) => {
                ui.start(autostarted);
                Next::Continue
            }
            Event::UserEvent(ev) => ui.on_event(ev),
            _ => Next::Continue,
        };
        if next == Next::Quit {
            ui.stop();
            *flow = ControlFlow::Exit;
        }
    })
}
