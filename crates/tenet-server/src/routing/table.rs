//! The method table: every request method the server serves, the core protocol's and
//! those added to it ([`crate::MethodDef`]), by wire name, with what serves it in each
//! era. Routing looks a request's method up here once; dispatch runs what it found.
//! There is no list of methods elsewhere: a capability the server lacks has no entry,
//! so its methods are unknown (-32601), and an extension's methods are entries like
//! any other.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use tenet_protocol::{Era, Method, ProtocolVersion, ServerCapabilities};

use super::route::{Call, Called, Core, CoreFn, Reply, Served};

/// One name's entry: what serves it in each era.
#[derive(Debug, Default, Clone)]
pub(crate) struct Entry {
    legacy: Option<Called>,
    stateless: Option<Called>,
}

impl Entry {
    /// What serves the method in `era`, if it is served there.
    pub(crate) fn served(&self, era: Era) -> Option<&Called> {
        match era {
            Era::Legacy => self.legacy.as_ref(),
            Era::Stateless => self.stateless.as_ref(),
        }
    }

    /// Whether the method exists in 2026-07-28 alone.
    pub(crate) fn stateless_only(&self) -> bool {
        self.legacy.is_none() && self.stateless.is_some()
    }

    /// The name of the added method the entry holds, if it holds one.
    pub(crate) fn added_name(&self) -> Option<&'static str> {
        self.legacy.iter().chain(&self.stateless).find_map(Called::added).map(|added| added.name)
    }

    fn slot(&mut self, era: Era) -> &mut Option<Called> {
        match era {
            Era::Legacy => &mut self.legacy,
            Era::Stateless => &mut self.stateless,
        }
    }
}

/// The server's methods, by wire name.
#[derive(Debug)]
pub struct MethodTable {
    /// The entries of the names the core protocol defines, by [`Method`] (found by
    /// `Method::from_name`, which beats hashing the name).
    core: Vec<Entry>,
    /// The entries of every other name.
    other: HashMap<&'static str, Entry>,
}

impl Default for MethodTable {
    fn default() -> Self {
        Self { core: vec![Entry::default(); Method::ALL.len()], other: HashMap::new() }
    }
}

/// A name served twice in one era.
#[derive(Debug)]
pub(crate) struct Taken(pub &'static str);

impl MethodTable {
    /// The core methods a server with `capabilities` serves.
    pub(crate) fn core(capabilities: &ServerCapabilities) -> Self {
        let mut table = Self::default();
        for (method, needs, run) in CORE {
            if !needs.met_by(capabilities) {
                continue;
            }
            for era in [Era::Legacy, Era::Stateless] {
                // A method that belongs to an extension in an era (the tasks
                // extension's, in 2026-07-28) is that extension's entry there.
                let extension = ProtocolVersion::ALL.iter().any(|v| v.era() == era && method.extension(*v).is_some());
                if method.exists_in_era(era) && !extension {
                    *table.core[method as usize].slot(era) = Some(Called::Core(Core { method, run }));
                }
            }
        }
        table
    }

    /// Adds `method` in every era it is served in.
    ///
    /// # Errors
    /// [`Taken`] when another method of its name is served in one of them.
    pub(crate) fn add(&mut self, method: Arc<crate::handler::MethodDef>) -> Result<(), Taken> {
        let entry = self.entry(method.name);
        for era in [Era::Legacy, Era::Stateless] {
            if method.served_in(era) {
                let slot = entry.slot(era);
                if slot.is_some() {
                    return Err(Taken(method.name));
                }
                *slot = Some(Called::Added(method.clone()));
            }
        }
        Ok(())
    }

    /// The entry for the method named `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        let entry = match Method::from_name(name) {
            Some(method) => self.core.get(method as usize),
            None => self.other.get(name),
        };
        entry.filter(|entry| entry.legacy.is_some() || entry.stateless.is_some())
    }

    fn entry(&mut self, name: &'static str) -> &mut Entry {
        match Method::from_name(name) {
            Some(method) => &mut self.core[method as usize],
            None => self.other.entry(name).or_default(),
        }
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.core.iter().chain(self.other.values())
    }

    /// Every added method, once each (a name may have one for each era).
    pub(crate) fn added(&self) -> impl Iterator<Item = &Arc<crate::handler::MethodDef>> {
        self.entries().flat_map(|entry| {
            let legacy = entry.legacy.as_ref().and_then(Called::added);
            let stateless = entry.stateless.as_ref().and_then(Called::added);
            let stateless = stateless.filter(|s| !legacy.is_some_and(|l| Arc::ptr_eq(l, s)));
            legacy.into_iter().chain(stateless)
        })
    }
}

/// The capability a core method needs the server to have.
#[derive(Clone, Copy)]
enum Needs {
    Nothing,
    Tools,
    Prompts,
    Resources,
    Completions,
    Tasks,
}

impl Needs {
    fn met_by(self, caps: &ServerCapabilities) -> bool {
        match self {
            Needs::Nothing => true,
            Needs::Tools => caps.tools.is_some(),
            Needs::Prompts => caps.prompts.is_some(),
            Needs::Resources => caps.resources.is_some(),
            Needs::Completions => caps.completions.is_some(),
            Needs::Tasks => caps.tasks.is_some(),
        }
    }
}

/// The core protocol's requests a server serves, what each needs, and its handler.
const CORE: [(Method, Needs, CoreFn); 19] = [
    (Method::Ping, Needs::Nothing, ping),
    (Method::Initialize, Needs::Nothing, initialize),
    (Method::Discover, Needs::Nothing, discover),
    (Method::LoggingSetLevel, Needs::Nothing, set_level),
    (Method::SubscriptionsListen, Needs::Nothing, listen),
    (Method::ToolsList, Needs::Tools, list_tools),
    (Method::ToolsCall, Needs::Tools, call_tool),
    (Method::PromptsList, Needs::Prompts, list_prompts),
    (Method::PromptsGet, Needs::Prompts, get_prompt),
    (Method::ResourcesList, Needs::Resources, list_resources),
    (Method::ResourcesTemplatesList, Needs::Resources, list_templates),
    (Method::ResourcesRead, Needs::Resources, read_resource),
    (Method::ResourcesSubscribe, Needs::Resources, subscribe),
    (Method::ResourcesUnsubscribe, Needs::Resources, subscribe),
    (Method::CompletionComplete, Needs::Completions, complete),
    (Method::TasksGet, Needs::Tasks, task),
    (Method::TasksResult, Needs::Tasks, task),
    (Method::TasksList, Needs::Tasks, task),
    (Method::TasksCancel, Needs::Tasks, task),
];

fn ping(_: Call<'_>) -> Served<'_> {
    Served::Now(Reply::ok(&json!({})))
}

fn initialize(c: Call<'_>) -> Served<'_> {
    Served::Now(c.server.initialize(c.params(), c.link))
}

fn discover(c: Call<'_>) -> Served<'_> {
    Served::Now(c.server.discover())
}

fn set_level(c: Call<'_>) -> Served<'_> {
    Served::Now(c.server.set_level(c.params(), c.link))
}

fn listen(c: Call<'_>) -> Served<'_> {
    Served::Later(Box::pin(c.server.listen(c.route, &c.request.id, c.params(), c.link)))
}

fn list_tools(c: Call<'_>) -> Served<'_> {
    Served::Now(c.server.list_tools(c.params(), c.link, c.route.meta.node_path.as_deref()))
}

fn call_tool(c: Call<'_>) -> Served<'_> {
    Served::ToolCall(c)
}

fn list_prompts(c: Call<'_>) -> Served<'_> {
    Served::Now(c.server.list_prompts(c.params(), c.link, c.route.meta.node_path.as_deref()))
}

fn get_prompt(c: Call<'_>) -> Served<'_> {
    Served::Later(Box::pin(c.server.get_prompt(c.route, &c.request.id, c.params(), c.link)))
}

fn list_resources(c: Call<'_>) -> Served<'_> {
    Served::Now(c.server.list_resources(c.params(), c.link, c.route.meta.node_path.as_deref()))
}

fn list_templates(c: Call<'_>) -> Served<'_> {
    Served::Now(c.server.list_templates(c.params(), c.link, c.route.meta.node_path.as_deref()))
}

fn read_resource(c: Call<'_>) -> Served<'_> {
    Served::Later(Box::pin(c.server.read_resource(c.route, &c.request.id, c.params(), c.link)))
}

fn subscribe(c: Call<'_>) -> Served<'_> {
    Served::Now(c.server.subscribe(c.method, c.params(), c.link))
}

fn complete(c: Call<'_>) -> Served<'_> {
    Served::Later(Box::pin(c.server.complete(c.route, c.params())))
}

fn task(c: Call<'_>) -> Served<'_> {
    Served::Later(Box::pin(c.server.task_method(c.method, c.params(), c.link)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::MethodDef;

    async fn ok() -> Result<serde_json::Value, tenet_jsonrpc::ErrorObject> {
        Ok(json!({}))
    }

    fn core_in(table: &MethodTable, name: &str, era: Era) -> Option<Method> {
        table.get(name).and_then(|entry| entry.served(era)).and_then(Called::core)
    }

    #[test]
    fn a_capability_the_server_lacks_has_no_methods_in_the_table() {
        let bare = MethodTable::core(&ServerCapabilities::default());
        assert_eq!(core_in(&bare, "ping", Era::Legacy), Some(Method::Ping));
        assert_eq!(core_in(&bare, "server/discover", Era::Stateless), Some(Method::Discover));
        for name in ["tools/call", "tools/list", "prompts/get", "resources/read", "completion/complete", "tasks/get"] {
            assert!(bare.get(name).is_none(), "{name} is served by a server without its capability");
        }
        let tools = ServerCapabilities { tools: Some(Default::default()), ..Default::default() };
        let with_tools = MethodTable::core(&tools);
        assert_eq!(core_in(&with_tools, "tools/call", Era::Legacy), Some(Method::ToolsCall));
        assert_eq!(core_in(&with_tools, "tools/call", Era::Stateless), Some(Method::ToolsCall));
    }

    #[test]
    fn each_era_has_its_own_entry_for_a_name() {
        let caps = ServerCapabilities { tasks: Some(json!({})), ..Default::default() };
        let mut table = MethodTable::core(&caps);
        // 2025-11-25's tasks/get is the core protocol's; 2026-07-28's is the extension's.
        assert_eq!(core_in(&table, "tasks/get", Era::Legacy), Some(Method::TasksGet));
        assert!(table.get("tasks/get").unwrap().served(Era::Stateless).is_none());
        assert!(table.get("tasks/update").is_none());
        let stateless = Arc::new(MethodDef::new("tasks/get", ok).era(Era::Stateless));
        table.add(stateless).unwrap();
        let entry = table.get("tasks/get").unwrap();
        assert!(matches!(entry.served(Era::Stateless), Some(Called::Added(_))));
        assert_eq!(core_in(&table, "tasks/get", Era::Legacy), Some(Method::TasksGet));
        // Subscriptions/listen exists in 2026-07-28 alone; initialize in the legacy era alone.
        assert!(table.get("subscriptions/listen").unwrap().stateless_only());
        assert!(table.get("initialize").unwrap().served(Era::Stateless).is_none());
    }

    #[test]
    fn a_name_served_twice_in_one_era_is_refused_and_added_methods_are_listed_once() {
        let mut table = MethodTable::core(&ServerCapabilities::default());
        table.add(Arc::new(MethodDef::new("example.com/both", ok))).unwrap();
        table.add(Arc::new(MethodDef::new("example.com/new", ok).era(Era::Stateless))).unwrap();
        assert!(table.add(Arc::new(MethodDef::new("example.com/new", ok).era(Era::Legacy))).is_ok());
        let again = table.add(Arc::new(MethodDef::new("example.com/both", ok).era(Era::Stateless)));
        assert!(matches!(again, Err(Taken("example.com/both"))));
        let mut added: Vec<_> = table.added().map(|m| m.name).collect();
        added.sort_unstable();
        assert_eq!(added, ["example.com/both", "example.com/new", "example.com/new"]);
        assert_eq!(table.get("example.com/both").unwrap().added_name(), Some("example.com/both"));
        assert_eq!(table.get("ping").unwrap().added_name(), None);
    }
}
