//! Running a trial: every swept model answers every item of every task, through the response
//! cache, with each result made durable before the next; then the figures, the recommendation
//! and the outputs. A killed run started again skips what is already in `results.jsonl`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use adopt_core::Reporter;

use crate::config::{TaskKind, TrialConfig};
use crate::error::{FailureKind, Result, TrialError};
use crate::measure::{measure, ItemRecord};
use crate::plan::{ModelPlan, TrialPlan};
use crate::provider::{
    estimate_prompt_tokens, ChatModel, ChatRequest, ChatResponse, Message, OpenAiCompatible,
};
use crate::recommend::recommend;
use crate::report::{
    write_items, write_report_json, EstimateRow, ModelFailure, ModelSummary, RunTotals,
    SweepEstimate, TaskSummary, TrialReport,
};
use crate::score::{parse_judge_grade, parse_unit_score};
use crate::store::{request_key, JsonlLog, ResponseCache};
use crate::tasks::{load_task, ContextSource, TaskItem, TaskSuite};

/// Files a trial writes in its output folder.
pub mod files {
    /// Append-only per-item results, fsynced; what a restarted run resumes from.
    pub const RESULTS: &str = "results.jsonl";
    /// The report.
    pub const REPORT: &str = "report.json";
    /// Final per-item records, one per (model, task, item).
    pub const ITEMS_JSONL: &str = "items.jsonl";
    /// The same, flat, for spreadsheets.
    pub const ITEMS_CSV: &str = "items.csv";
    /// Quality against size and cost.
    pub const CHART: &str = "chart.svg";
    /// The dry-run estimate.
    pub const ESTIMATE: &str = "estimate.json";
    /// Default folder of the response cache.
    pub const CACHE_DIR: &str = "cache";
    pub use crate::load::files as load;
}

/// Settings of one run that do not belong in the trial file.
#[derive(Clone, Default)]
pub struct TrialOptions {
    /// Estimate tokens and cost of the sweep and stop before sending anything.
    pub dry_run: bool,
    /// Most requests in flight across all endpoints; each endpoint's own limit still applies.
    pub concurrency: Option<usize>,
    /// Retrieval for QA tasks with `context = "source"` (the kb stage).
    pub context_source: Option<Arc<dyn ContextSource>>,
    /// Clients to use instead of HTTP for the named models (other backends, tests).
    pub clients: HashMap<String, Arc<dyn ChatModel>>,
    /// Measure latency under load after the sweep, with `[trial.load]` or its defaults, even when
    /// an earlier run's figures still hold (without this, a `[trial.load]` table is measured once
    /// per settings).
    pub load: bool,
}

impl std::fmt::Debug for TrialOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrialOptions")
            .field("dry_run", &self.dry_run)
            .field("concurrency", &self.concurrency)
            .field("context_source", &self.context_source.is_some())
            .field("clients", &self.clients.keys().collect::<Vec<_>>())
            .field("load", &self.load)
            .finish()
    }
}

/// A counting semaphore: std has none, and the trial needs one per endpoint.
struct Semaphore {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Semaphore {
    fn new(n: usize) -> Self {
        Semaphore {
            free: Mutex::new(n.max(1)),
            cv: Condvar::new(),
        }
    }

    fn acquire(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.cv.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

struct Permit<'a>(&'a Semaphore);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.cv.notify_one();
    }
}

/// One request of the sweep.
struct Work {
    model: usize,
    task: usize,
    item: usize,
    key: String,
    request: ChatRequest,
}

/// The shared state of a running sweep.
struct Sweep<'a> {
    plan: &'a TrialPlan,
    suites: &'a [TaskSuite],
    clients: &'a HashMap<String, Arc<dyn ChatModel>>,
    cache: &'a ResponseCache,
    log: &'a JsonlLog,
    reporter: &'a dyn Reporter,
    global: Option<Semaphore>,
    judge_gate: Semaphore,
    stopped: Mutex<BTreeMap<String, (String, usize)>>,
    judge_stopped: Mutex<Option<String>>,
    results: Mutex<Vec<ItemRecord>>,
    requests: AtomicUsize,
    cache_hits: AtomicUsize,
    errors: AtomicUsize,
    spent: Mutex<f64>,
    fatal: Mutex<Option<TrialError>>,
    abort: AtomicBool,
}

/// Runs `config`, writing into `out_dir`. See the module docs for what is written.
pub fn run_trial(
    config: &TrialConfig,
    out_dir: &Path,
    reporter: &dyn Reporter,
    opts: &TrialOptions,
) -> Result<TrialReport> {
    let started = Instant::now();
    let plan = TrialPlan::new(config)?;
    let suites: Vec<TaskSuite> = config
        .tasks
        .iter()
        .map(|t| load_task(config, t, opts.context_source.as_deref()))
        .collect::<Result<_>>()?;
    std::fs::create_dir_all(out_dir).map_err(|e| TrialError::io(out_dir, e))?;
    let cache_dir = config
        .cache_dir
        .as_deref()
        .map(|d| config.resolve(d))
        .unwrap_or_else(|| out_dir.join(files::CACHE_DIR));
    let cache = ResponseCache::open(&cache_dir)?;
    let mut report = base_report(&plan, &suites);
    report.dry_run = opts.dry_run;

    if opts.dry_run {
        let estimate = estimate_sweep(&plan, &suites, &cache);
        let path = out_dir.join(files::ESTIMATE);
        let json =
            serde_json::to_vec_pretty(&estimate).map_err(|e| TrialError::io(&path, e.into()))?;
        adopt_core::layout::write_atomic(&path, &json).map_err(|e| TrialError::io(&path, e))?;
        report.estimate = Some(estimate);
        return Ok(report);
    }

    // Every client first, so that all missing keys are reported together before any spend.
    let mut clients: HashMap<String, Arc<dyn ChatModel>> = HashMap::new();
    let mut key_errors = Vec::new();
    let judge_name = config.judge.as_ref().map(|j| j.model.as_str());
    for m in &plan.models {
        if m.judge_only && Some(m.name.as_str()) != judge_name {
            continue;
        }
        if let Some(c) = opts.clients.get(&m.name) {
            clients.insert(m.name.clone(), c.clone());
            continue;
        }
        if m.endpoint.base_url.starts_with("local:") {
            key_errors.push(format!(
                "model {}: base-url {} is a model file run in-process, but no local engine \
                 was given for it (adopt_local::local_clients)",
                m.name, m.endpoint.base_url
            ));
            continue;
        }
        match OpenAiCompatible::new(m.endpoint.clone()) {
            Ok(c) => {
                clients.insert(m.name.clone(), Arc::new(c));
            }
            Err(e) => key_errors.push(e.to_string()),
        }
    }
    if !key_errors.is_empty() {
        return Err(TrialError::InvalidConfig(key_errors));
    }

    let (log, prior) = JsonlLog::open::<ItemRecord>(&out_dir.join(files::RESULTS))?;
    let mut done: HashMap<(String, String, String), ItemRecord> = HashMap::new();
    for r in prior {
        if r.error.is_none() {
            done.insert((r.model.clone(), r.task.clone(), r.item.clone()), r);
        }
    }

    // The work: every (model, task, item) not already done with the same request.
    let mut kept: Vec<ItemRecord> = Vec::new();
    let mut groups: BTreeMap<String, (usize, Vec<Work>)> = BTreeMap::new();
    for (mi, model) in plan
        .models
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.judge_only)
    {
        for (ti, suite) in suites.iter().enumerate() {
            let task_cfg = &config.tasks[ti];
            let params = model.params_for(task_cfg);
            let judged = config.judge.as_ref().is_some_and(|j| j.judges(&suite.name));
            let grounded = config
                .judge
                .as_ref()
                .is_some_and(|j| j.grades_groundedness(&suite.name));
            for (ii, item) in suite.items.iter().enumerate() {
                let request = ChatRequest {
                    messages: item.messages.clone(),
                    params: params.clone(),
                };
                let key = request_key(&model.endpoint, &request);
                if let Some(mut prev) =
                    done.remove(&(model.name.clone(), suite.name.clone(), item.id.clone()))
                {
                    let grounded = grounded && item.context.is_some();
                    if prev.key == key
                        && (!judged || prev.judge.is_some())
                        && (!grounded || prev.groundedness.is_some())
                    {
                        prev.context_hit = item.context_hit;
                        kept.push(prev);
                        continue;
                    }
                }
                let group = groups
                    .entry(model.endpoint.base_url.clone())
                    .or_insert((0, Vec::new()));
                group.0 = group.0.max(model.endpoint.concurrency);
                group.1.push(Work {
                    model: mi,
                    task: ti,
                    item: ii,
                    key,
                    request,
                });
            }
        }
    }
    let total: usize = groups.values().map(|g| g.1.len()).sum();
    let judge_concurrency = judge_name
        .and_then(|n| plan.model(n))
        .map_or(1, |m| m.endpoint.concurrency);
    let sweep = Sweep {
        plan: &plan,
        suites: &suites,
        clients: &clients,
        cache: &cache,
        log: &log,
        reporter,
        global: opts.concurrency.map(Semaphore::new),
        judge_gate: Semaphore::new(judge_concurrency),
        stopped: Mutex::new(BTreeMap::new()),
        judge_stopped: Mutex::new(None),
        results: Mutex::new(Vec::new()),
        requests: AtomicUsize::new(0),
        cache_hits: AtomicUsize::new(0),
        errors: AtomicUsize::new(0),
        spent: Mutex::new(0.0),
        fatal: Mutex::new(None),
        abort: AtomicBool::new(false),
    };
    reporter.start("trial requests", total as u64);
    std::thread::scope(|s| {
        for (limit, mut work) in groups.into_values() {
            // Interleave the models and tasks of an endpoint so an early kill leaves a bit of
            // everything rather than all of one model.
            work.sort_by_key(|w| (w.item, w.task, w.model));
            let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(work)));
            for _ in 0..limit.min(queue.lock().map(|q| q.len()).unwrap_or(0)).max(1) {
                let queue = queue.clone();
                let sweep = &sweep;
                s.spawn(move || loop {
                    if sweep.abort.load(Ordering::Relaxed) {
                        break;
                    }
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(work) = next else { break };
                    if let Err(e) = sweep.process(work) {
                        sweep.abort.store(true, Ordering::Relaxed);
                        sweep
                            .fatal
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                    }
                });
            }
        }
    });
    reporter.finish();
    if let Some(e) = sweep.fatal.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e);
    }

    // Figures from every record that belongs to this trial as configured now.
    let mut records = kept;
    let resumed = records.len();
    records.extend(
        sweep
            .results
            .into_inner()
            .unwrap_or_else(|p| p.into_inner()),
    );
    let order: HashMap<(&str, &str), usize> = suites
        .iter()
        .flat_map(|s| {
            s.items
                .iter()
                .enumerate()
                .map(move |(i, it)| ((s.name.as_str(), it.id.as_str()), i))
        })
        .collect();
    records.sort_by_key(|r| {
        let mi = plan
            .models
            .iter()
            .position(|m| m.name == r.model)
            .unwrap_or(usize::MAX);
        let ti = suites
            .iter()
            .position(|s| s.name == r.task)
            .unwrap_or(usize::MAX);
        (
            mi,
            ti,
            order
                .get(&(r.task.as_str(), r.item.as_str()))
                .copied()
                .unwrap_or(usize::MAX),
        )
    });
    for model in plan.swept() {
        for (ti, suite) in suites.iter().enumerate() {
            let rs: Vec<&ItemRecord> = records
                .iter()
                .filter(|r| r.model == model.name && r.task == suite.name)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let volume = config.tasks[ti].monthly_volume.or(config.monthly_volume);
            report.metrics.push(measure(
                model,
                suite,
                &rs,
                volume,
                config.bootstrap_resamples,
                config.seed,
                config.confidence,
            ));
        }
    }
    report.recommendations = recommend(&plan, &report.metrics);
    report.failures = sweep
        .stopped
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|(model, (message, skipped_items))| ModelFailure {
            model,
            message,
            skipped_items,
        })
        .collect();
    if let Some(j) = sweep
        .judge_stopped
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        report.notes.push(format!("the judge stopped grading: {j}"));
    }
    let estimated: usize = report.metrics.iter().map(|m| m.usage_estimated).sum();
    if estimated > 0 {
        report.notes.push(format!(
            "{estimated} answers came without a usage object: their token counts (and costs) are estimated from the text"
        ));
    }
    for m in plan.swept().filter(|m| m.price.is_none()) {
        report
            .notes
            .push(format!("{} has no price: its cost is not reported", m.name));
    }
    if config.load.is_some() || opts.load {
        report.load = Some(crate::load::measure_load(
            &plan,
            &suites,
            &opts.clients,
            out_dir,
            opts.load,
            reporter,
        )?);
    }
    report.run = RunTotals {
        requests: sweep.requests.load(Ordering::Relaxed),
        cache_hits: sweep.cache_hits.load(Ordering::Relaxed),
        resumed,
        errors: sweep.errors.load(Ordering::Relaxed),
        spent: *sweep.spent.lock().unwrap_or_else(|p| p.into_inner()),
        wall_s: started.elapsed().as_secs_f64(),
    };
    write_report_json(&report, &out_dir.join(files::REPORT))?;
    write_items(
        &records,
        &out_dir.join(files::ITEMS_JSONL),
        &out_dir.join(files::ITEMS_CSV),
    )?;
    let chart = out_dir.join(files::CHART);
    adopt_core::layout::write_atomic(&chart, crate::svg::render_svg(&report).as_bytes())
        .map_err(|e| TrialError::io(&chart, e))?;
    Ok(report)
}

impl Sweep<'_> {
    /// One request through the cache: the answer and whether the cache gave it.
    fn ask(
        &self,
        model: &ModelPlan,
        key: &str,
        request: &ChatRequest,
    ) -> Result<(
        std::result::Result<ChatResponse, crate::error::ProviderError>,
        bool,
    )> {
        if let Some(hit) = self.cache.get(key) {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((Ok(hit), true));
        }
        let client = &self.clients[&model.name];
        self.requests.fetch_add(1, Ordering::Relaxed);
        let answer = client.chat(request);
        if let Ok(r) = &answer {
            self.cache.put(key, r)?;
            let cost = model
                .request_cost(r.input_tokens as f64, r.output_tokens as f64, r.latency_ms)
                .unwrap_or(0.0);
            *self.spent.lock().unwrap_or_else(|p| p.into_inner()) += cost;
        }
        Ok((answer, false))
    }

    fn process(&self, work: Work) -> Result<()> {
        let model = &self.plan.models[work.model];
        let suite = &self.suites[work.task];
        let item = &suite.items[work.item];
        let progress = format!("{} / {} / {}", model.name, suite.name, item.id);
        {
            let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, skipped)) = stopped.get_mut(&model.name) {
                *skipped += 1;
                drop(stopped);
                self.reporter.advance(&progress);
                return Ok(());
            }
        }
        let (answer, cached) = {
            let _global = self.global.as_ref().map(Semaphore::acquire);
            self.ask(model, &work.key, &work.request)?
        };
        let mut record = ItemRecord {
            model: model.name.clone(),
            task: suite.name.clone(),
            item: item.id.clone(),
            key: work.key,
            response: None,
            scores: Default::default(),
            judge: None,
            context_hit: item.context_hit,
            groundedness: None,
            expected: item.expected.render(),
            cached,
            error: None,
            error_kind: None,
        };
        match answer {
            Ok(r) => {
                record.scores = suite.score(item, &r.content);
                let judged = self
                    .plan
                    .config
                    .judge
                    .as_ref()
                    .is_some_and(|j| j.judges(&suite.name));
                if judged {
                    record.judge = self.judge(item, &r.content)?;
                }
                let grounded = self
                    .plan
                    .config
                    .judge
                    .as_ref()
                    .is_some_and(|j| j.grades_groundedness(&suite.name));
                if let (true, Some(context)) = (grounded, &item.context) {
                    record.groundedness = self.groundedness(context, &r.content)?;
                }
                record.response = Some(r);
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if e.kind == FailureKind::Permanent {
                    // A bad key or unknown model fails every item alike: stop asking.
                    let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
                    if !stopped.contains_key(&model.name) {
                        self.reporter.warn(&format!(
                            "{}: stopped after a permanent error: {}",
                            model.name, e.message
                        ));
                        stopped.insert(model.name.clone(), (e.message.clone(), 0));
                    }
                }
                record.error = Some(e.message);
                record.error_kind = Some(e.kind);
            }
        }
        self.log.append(&record)?;
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record);
        self.reporter.advance(&progress);
        Ok(())
    }

    /// The judge's grade of `answer`, or `None` when the judge failed or said no number.
    fn judge(&self, item: &TaskItem, answer: &str) -> Result<Option<f64>> {
        let Some(cfg) = &self.plan.config.judge else {
            return Ok(None);
        };
        let Some(judge) = self.plan.model(&cfg.model) else {
            return Ok(None);
        };
        let scale = cfg.scale.unwrap_or(5);
        let request = judge_request(judge, &cfg.rubric, scale, item, answer);
        Ok(self
            .ask_judge(judge, &request)?
            .and_then(|text| parse_judge_grade(&text, scale)))
    }

    /// The judge's groundedness of `answer` in `context` (0..=1), or `None` when the judge failed
    /// or gave no score in range.
    fn groundedness(&self, context: &str, answer: &str) -> Result<Option<f64>> {
        let Some(judge) = self
            .plan
            .config
            .judge
            .as_ref()
            .and_then(|cfg| self.plan.model(&cfg.model))
        else {
            return Ok(None);
        };
        let request = groundedness_request(judge, context, answer);
        Ok(self
            .ask_judge(judge, &request)?
            .and_then(|text| parse_unit_score(&text)))
    }

    /// One judge request through the cache and the judge's own concurrency limit: its text, or
    /// `None` once the judge has failed for good.
    fn ask_judge(&self, judge: &ModelPlan, request: &ChatRequest) -> Result<Option<String>> {
        if self
            .judge_stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return Ok(None);
        }
        let key = request_key(&judge.endpoint, request);
        let (answer, _) = {
            let _gate = self.judge_gate.acquire();
            self.ask(judge, &key, request)?
        };
        match answer {
            Ok(r) => Ok(Some(r.content)),
            Err(e) => {
                if e.kind == FailureKind::Permanent {
                    self.reporter.warn(&format!("judge stopped: {}", e.message));
                    *self.judge_stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.message);
                }
                Ok(None)
            }
        }
    }
}

/// The judge's prompt: rubric, the task as the model saw it, the reference and the answer.
fn judge_request(
    judge: &ModelPlan,
    rubric: &str,
    scale: u32,
    item: &TaskItem,
    answer: &str,
) -> ChatRequest {
    let task_input = item
        .messages
        .last()
        .map(|m| m.content.as_str())
        .unwrap_or("");
    let user = format!(
        "Rubric:\n{rubric}\n\nTask given to the model:\n{task_input}\n\nReference answer:\n{}\n\n\
         Answer to grade:\n{answer}\n\nGrade the answer from 1 (worst) to {scale} (best) against the \
         rubric and the reference. Explain in one sentence, then give the grade on the last line as \
         `SCORE: <n>`.",
        item.expected.render()
    );
    let mut params = judge.params.clone();
    params.temperature.get_or_insert(0.0);
    params.max_tokens.get_or_insert(256);
    params.stream.get_or_insert(false);
    ChatRequest {
        messages: vec![
            Message::system("You grade answers strictly and consistently."),
            Message::user(user),
        ],
        params,
    }
}

/// The groundedness prompt: is every claim of the answer supported by the context alone?
fn groundedness_request(judge: &ModelPlan, context: &str, answer: &str) -> ChatRequest {
    let user = format!(
        "Context:\n{context}\n\nAnswer:\n{answer}\n\nIs every claim of the answer supported by the \
         context? Judge against the context alone, not what you know. Split the answer into its \
         claims and check each. Explain in one sentence, then give on the last line the share of \
         the answer's claims the context supports, from 0 (none) to 1 (all), as `SCORE: <number>`."
    );
    let mut params = judge.params.clone();
    params.temperature.get_or_insert(0.0);
    params.max_tokens.get_or_insert(256);
    params.stream.get_or_insert(false);
    ChatRequest {
        messages: vec![
            Message::system("You check answers against their sources strictly and consistently."),
            Message::user(user),
        ],
        params,
    }
}

fn base_report(plan: &TrialPlan, suites: &[TaskSuite]) -> TrialReport {
    let config = &plan.config;
    TrialReport {
        name: config.name.clone(),
        currency: config.currency.clone(),
        confidence: config.confidence,
        models: plan
            .models
            .iter()
            .map(|m| ModelSummary {
                name: m.name.clone(),
                provider: m.endpoint.provider.as_str().into(),
                model: m.endpoint.model.clone(),
                base_url: m.endpoint.base_url.clone(),
                size: m.size.clone(),
                parameters: m.parameters,
                price: m.price.clone(),
                judge_only: m.judge_only,
            })
            .collect(),
        tasks: suites
            .iter()
            .zip(&config.tasks)
            .map(|(s, t)| TaskSummary {
                name: s.name.clone(),
                kind: s.kind,
                metric: s.metric,
                items: s.items.len(),
                monthly_volume: t.monthly_volume.or(config.monthly_volume),
            })
            .collect(),
        ..TrialReport::default()
    }
}

/// Tokens and cost of the sweep before anything is sent: prompts are built and measured with
/// the token estimate; answers are assumed to be the task's typical length (and, for the upper
/// bound, `max-tokens`). Requests the cache already holds are free.
pub fn estimate_sweep(
    plan: &TrialPlan,
    suites: &[TaskSuite],
    cache: &ResponseCache,
) -> SweepEstimate {
    let config = &plan.config;
    let mut est = SweepEstimate {
        method: "input tokens estimated from the prompts (~1 per CJK character, ~1 per 4 other characters, \
                 +4 per message); output at the task's expected-output-tokens, and at max-tokens for the upper bound"
            .into(),
        ..SweepEstimate::default()
    };
    let judge = config
        .judge
        .as_ref()
        .and_then(|j| plan.model(&j.model).map(|m| (j, m)));
    for model in plan.swept() {
        if model.price.is_none() {
            est.unpriced_models.push(model.name.clone());
        }
        for (ti, suite) in suites.iter().enumerate() {
            let params = model.params_for(&config.tasks[ti]);
            let max = u64::from(params.max_tokens.unwrap_or(256));
            let typical = u64::from(suite.expected_output_tokens).min(max);
            let mut row = EstimateRow {
                model: model.name.clone(),
                task: suite.name.clone(),
                requests: suite.items.len(),
                cached: 0,
                input_tokens: 0,
                output_tokens: 0,
                output_tokens_max: 0,
                cost: None,
                cost_max: None,
            };
            let (mut cost, mut cost_max) = (0.0, 0.0);
            for item in &suite.items {
                let request = ChatRequest {
                    messages: item.messages.clone(),
                    params: params.clone(),
                };
                if cache.contains(&request_key(&model.endpoint, &request)) {
                    row.cached += 1;
                    continue;
                }
                let input = estimate_prompt_tokens(&request);
                row.input_tokens += input;
                row.output_tokens += typical;
                row.output_tokens_max += max;
                cost += model
                    .request_cost(input as f64, typical as f64, 0.0)
                    .unwrap_or(0.0);
                cost_max += model
                    .request_cost(input as f64, max as f64, 0.0)
                    .unwrap_or(0.0);
            }
            if model.price.is_some() {
                row.cost = Some(cost);
                row.cost_max = Some(cost_max);
            }
            push_row(&mut est, row);
            if let Some((j, jm)) = judge.filter(|(j, _)| j.judges(&suite.name)) {
                let mut jrow = EstimateRow {
                    model: jm.name.clone(),
                    task: format!("judge:{}", suite.name),
                    requests: suite.items.len(),
                    cached: 0,
                    input_tokens: 0,
                    output_tokens: 0,
                    output_tokens_max: 0,
                    cost: None,
                    cost_max: None,
                };
                let rubric = crate::tokenize::estimate_tokens(&j.rubric) + 80;
                let (mut c, mut cm) = (0.0, 0.0);
                for item in &suite.items {
                    let input = rubric
                        + estimate_prompt_tokens(&ChatRequest {
                            messages: item.messages.clone(),
                            params: params.clone(),
                        })
                        + crate::tokenize::estimate_tokens(&item.expected.render())
                        + typical;
                    jrow.input_tokens += input;
                    jrow.output_tokens += 64;
                    jrow.output_tokens_max += 256;
                    c += jm.request_cost(input as f64, 64.0, 0.0).unwrap_or(0.0);
                    cm += jm.request_cost(input as f64, 256.0, 0.0).unwrap_or(0.0);
                }
                if jm.price.is_some() {
                    jrow.cost = Some(c);
                    jrow.cost_max = Some(cm);
                }
                push_row(&mut est, jrow);
                let grounding = groundedness_estimate(jm, suite, typical);
                if j.grades_groundedness(&suite.name) && grounding.requests > 0 {
                    push_row(&mut est, grounding);
                }
            }
        }
    }
    if suites.iter().any(|s| s.kind == TaskKind::RagQa) {
        est.method.push_str("; QA prompts include their context");
    }
    est
}

/// The judge's groundedness requests on `suite`: one per answer of an item with context, the
/// context and a typical answer in, a short verdict out.
fn groundedness_estimate(judge: &ModelPlan, suite: &TaskSuite, typical: u64) -> EstimateRow {
    let mut row = EstimateRow {
        model: judge.name.clone(),
        task: format!("groundedness:{}", suite.name),
        requests: 0,
        cached: 0,
        input_tokens: 0,
        output_tokens: 0,
        output_tokens_max: 0,
        cost: None,
        cost_max: None,
    };
    let (mut c, mut cm) = (0.0, 0.0);
    for context in suite.items.iter().filter_map(|i| i.context.as_deref()) {
        let input = crate::tokenize::estimate_tokens(context) + typical + 90;
        row.requests += 1;
        row.input_tokens += input;
        row.output_tokens += 64;
        row.output_tokens_max += 256;
        c += judge.request_cost(input as f64, 64.0, 0.0).unwrap_or(0.0);
        cm += judge.request_cost(input as f64, 256.0, 0.0).unwrap_or(0.0);
    }
    if judge.price.is_some() {
        row.cost = Some(c);
        row.cost_max = Some(cm);
    }
    row
}

fn push_row(est: &mut SweepEstimate, row: EstimateRow) {
    est.requests += row.requests - row.cached;
    est.cached += row.cached;
    est.input_tokens += row.input_tokens;
    est.output_tokens += row.output_tokens;
    est.cost += row.cost.unwrap_or(0.0);
    est.cost_max += row.cost_max.unwrap_or(0.0);
    est.rows.push(row);
}
