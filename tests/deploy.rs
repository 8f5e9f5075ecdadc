//! The deployment files (docs/deploy.md) and what a scheduled job relies on:
//! the manifests parse and their command lines are real recoup runs (run
//! here on the demo, with the container paths mapped to the repository's),
//! the policy ConfigMap's items mount every file of the policy, settings by
//! environment (the command line wins), and `--log-format json`.

use crate::common::repo;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_recoup");

/// The documents of a YAML file, as JSON (PyYAML's safe loader).
fn yaml(rel: &str) -> Vec<Value> {
    let out = Command::new("python3")
        .args(["-c", "import json,sys,yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"])
        .arg(repo(rel))
        .output()
        .expect("python3 runs (.ci/test installs PyYAML)");
    assert!(out.status.success(), "{rel} does not parse: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A container path as the repository's (or the test's temporary folder's).
fn map(s: &str, tmp: &Path) -> String {
    s.replace("/data/ledger", repo("fixtures/demo").to_str().unwrap())
        .replace("/opt/recoup/policies/standard", repo("policies/standard").to_str().unwrap())
        .replace("/policy", repo("policies/standard").to_str().unwrap())
        .replace("/data/out", tmp.join("out").to_str().unwrap())
}

/// A container's `env` as (name, value) pairs (values given inline only).
fn env_of(container: &Value, tmp: &Path) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.to_string(), map(e["value"].as_str()?, tmp))))
        .collect()
}

/// Kubernetes' `$(VAR)` expansion of an argument.
fn expand(arg: &str, env: &[(String, String)]) -> String {
    env.iter().fold(arg.to_string(), |a, (k, v)| a.replace(&format!("$({k})"), v))
}

fn recoup() -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(repo("")).env("NO_COLOR", "1");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RECOUP_")) {
        c.env_remove(k);
    }
    c
}

#[test]
fn the_indexed_job_runs_each_shard_as_written() {
    let docs = yaml("deploy/k8s/shards-job.yaml");
    let [job] = &docs[..] else { panic!("one document") };
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let n = job["spec"]["completions"].as_u64().unwrap();
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let tmp = tempfile::tempdir().unwrap();
    let mut env = env_of(container, tmp.path());
    for i in 0..n {
        env.retain(|(k, _)| k != "JOB_COMPLETION_INDEX");
        env.push(("JOB_COMPLETION_INDEX".into(), i.to_string()));
        let args: Vec<String> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| map(&expand(a.as_str().unwrap(), &env), tmp.path()))
            .collect();
        let out = recoup().args(&args).envs(env.iter().map(|(k, v)| (k, v))).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "shard {i}: {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let shard = tmp.path().join(format!("out/2026-11-16/shard-{i}/shard.json"));
        assert!(shard.is_file(), "{}", shard.display());
    }
    // The merge of the docs: every shard of the night.
    let shards: Vec<String> =
        (0..n).map(|i| tmp.path().join(format!("out/2026-11-16/shard-{i}")).display().to_string()).collect();
    let merged = tmp.path().join("out/2026-11-16/plan");
    let out = recoup().arg("merge").arg("--out").arg(&merged).args(&shards).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_cronjob_takes_its_date_from_the_schedule_and_mounts_the_whole_policy() {
    let docs = yaml("deploy/k8s/cronjob.yaml");
    let [cron] = &docs[..] else { panic!("one document") };
    assert_eq!(cron["kind"], "CronJob");
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    // Every file of policies/standard but its tests, each at its own path.
    let items: Vec<(String, String)> =
        pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "policy").unwrap()["configMap"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["key"].as_str().unwrap().to_string(), i["path"].as_str().unwrap().to_string()))
            .collect();
    let mut files = Vec::new();
    let root = repo("policies/standard");
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(&root).unwrap().to_str().unwrap().to_string();
            if p.is_dir() && rel != "tests" {
                stack.push(p);
            } else if p.is_file() {
                files.push(rel);
            }
        }
    }
    files.sort();
    let paths: Vec<String> = items.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(paths, files, "cronjob.yaml's policy items: run deploy/k8s/policy-configmap.sh policies/standard");
    for (key, path) in &items {
        assert_eq!(key, &path.replace('/', "__"));
    }

    // The scheduled wrapper, as the pod runs it: the date from the Job's name.
    let container = &pod["containers"][0];
    let tmp = tempfile::tempdir().unwrap();
    let env = env_of(container, tmp.path());
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let command = repo(
        container["command"][0]
            .as_str()
            .unwrap()
            .replace("/usr/local/bin/recoup-scheduled", "deploy/recoup-scheduled.sh")
            .as_str(),
    );
    let bin_dir = Path::new(BIN).parent().unwrap().display().to_string();
    let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
    let scheduled = |job_name: &str| {
        let mut c = Command::new("sh");
        c.arg(&command).args(&args).current_dir(repo("")).env("PATH", &path).env("JOB_NAME", job_name);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("RECOUP_")) {
            c.env_remove(k);
        }
        c.envs(env.iter().map(|(k, v)| (k, v))).output().unwrap()
    };
    // 2026-11-16 02:30 UTC is minute 29,913,270 since 1970.
    let out = scheduled("recoup-nightly-29913270");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("out/2026-11-16/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["as_of"], "2026-11-16");
    // A Job made by hand carries no scheduled time: refused, never today's date.
    let out = scheduled("recoup-backfill");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("set RECOUP_AS_OF"));
}

#[test]
fn the_airflow_dag_commands_are_recoup_runs() {
    let dag = std::fs::read_to_string(repo("deploy/airflow/recoup_dag.py")).unwrap();
    let list = |name: &str| -> Vec<String> {
        let start = dag.find(&format!("{name} = [")).unwrap() + name.len() + 3;
        let end = start + dag[start..].find(']').unwrap() + 1;
        serde_json::from_str(&dag[start..end]).unwrap()
    };
    let (run, merge) = (list("RUN_ARGS"), list("MERGE_ARGS"));
    let tmp = tempfile::tempdir().unwrap();
    // ENV is a dict literal of strings: JSON too.
    let start = dag.find("ENV = {").unwrap() + 6;
    let end = start + dag[start..].find("\n}").unwrap();
    let env_text = dag[start..end].trim_end().trim_end_matches(',').replace("{{ ds }}", "2026-11-16") + "}";
    let env: serde_json::Map<String, Value> = serde_json::from_str(&env_text).unwrap();
    let env: Vec<(String, String)> =
        env.iter().map(|(k, v)| (k.clone(), map(v.as_str().unwrap(), tmp.path()))).collect();
    let fill = |args: &[String], shard: usize| -> Vec<String> {
        args.iter()
            .map(|a| map(&a.replace("{shard}", &shard.to_string()).replace("{ds}", "2026-11-16"), tmp.path()))
            .collect()
    };
    for shard in 0..4 {
        let out = recoup().args(fill(&run, shard)).envs(env.iter().map(|(k, v)| (k, v))).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = recoup().args(fill(&merge, 0)).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(tmp.path().join("out/2026-11-16/plan/plan.csv").is_file());
    // Python syntax (parsed only: no __pycache__ written into the repository).
    let status = Command::new("python3")
        .args(["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])"])
        .arg(repo("deploy/airflow/recoup_dag.py"))
        .status();
    assert!(status.unwrap().success());
}

#[test]
fn the_image_runs_as_a_user_with_the_binary_the_wrapper_and_the_policies() {
    let file = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    let froms = file.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(froms >= 2, "a multi-stage build");
    for line in [
        "COPY --from=build /src/target/release/recoup /usr/local/bin/recoup",
        "COPY deploy/recoup-scheduled.sh /usr/local/bin/recoup-scheduled",
        "COPY policies /opt/recoup/policies",
        "USER 10001:10001",
    ] {
        assert!(file.lines().any(|l| l == line), "Dockerfile lacks `{line}`");
    }
}

/// `recoup run` on the demo with `env` and `args` (after the ledger, policy and out): (code, stdout, stderr).
fn run_demo(env: &[(&str, &str)], args: &[&str], out: &Path) -> (Option<i32>, String, String) {
    let o = recoup()
        .args(["run", "--ledger", "fixtures/demo", "--policy", "policies/standard", "--out"])
        .arg(out)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn json_file(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn settings_come_from_the_environment_and_the_command_line_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, _, err) = run_demo(&[("RECOUP_AS_OF", "2026-11-16"), ("RECOUP_THREADS", "3")], &["--quiet"], &out);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json_file(&out.join("summary.json"))["as_of"], "2026-11-16");
    assert_eq!(json_file(&out.join("manifest.json"))["threads"], 3);
    let (code, _, err) = run_demo(
        &[("RECOUP_AS_OF", "2026-11-01"), ("RECOUP_THREADS", "3")],
        &["--quiet", "--as-of", "2026-11-16", "--threads", "2"],
        &out,
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json_file(&out.join("summary.json"))["as_of"], "2026-11-16");
    assert_eq!(json_file(&out.join("manifest.json"))["threads"], 2);
    // A bad value from the environment is a usage error that names the variable.
    let (code, _, err) = run_demo(&[("RECOUP_AS_OF", "16.11.2026")], &["--quiet"], &out);
    assert_eq!(code, Some(2));
    assert!(err.contains("16.11.2026") && err.contains("YYYY-MM-DD"), "{err}");
    // The whole run from the environment alone, as the image runs it.
    let o = recoup()
        .arg("run")
        .envs([
            ("RECOUP_LEDGER", "fixtures/demo"),
            ("RECOUP_POLICY", "policies/standard"),
            ("RECOUP_AS_OF", "2026-11-16"),
            ("RECOUP_SHARD", "1/2"),
            ("RECOUP_REJECT_BAD_ROWS", "true"),
            ("RECOUP_PARQUET", "true"),
        ])
        .env("RECOUP_OUT", tmp.path().join("env-out"))
        .arg("--quiet")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let shard = json_file(&tmp.path().join("env-out/shard.json"));
    assert_eq!((shard["shard"]["index"].as_u64(), shard["shard"]["count"].as_u64()), (Some(1), Some(2)));
    assert!(tmp.path().join("env-out/plan.parquet").is_file());
}

#[test]
fn json_logs_are_one_object_a_line_with_the_stages() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, _, err) = run_demo(&[], &["--as-of", "2026-11-16", "--log-format", "json", "--quiet"], &out);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<Value> = err.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let stages: Vec<&str> =
        lines.iter().filter(|l| l["event"] == "stage").map(|l| l["stage"].as_str().unwrap()).collect();
    // `render`: the outbox, written by default.
    assert_eq!(stages, ["policy", "load", "evaluate", "kpis", "render", "write"]);
    let load = lines.iter().find(|l| l["stage"] == "load").unwrap();
    assert_eq!(load["files"]["invoices"]["read"], 4011);
    let evaluate = lines.iter().find(|l| l["stage"] == "evaluate").unwrap();
    let plan = std::fs::read_to_string(out.join("plan.csv")).unwrap();
    assert_eq!(evaluate["actions"].as_u64().unwrap() as usize, plan.lines().count() - 1);
    assert_eq!(evaluate["customers"], 400);
    let done = lines.last().unwrap();
    assert_eq!(
        (done["event"].as_str(), done["command"].as_str(), done["exit_code"].as_u64()),
        (Some("done"), Some("run"), Some(0))
    );

    // Bad rows and the error: JSON too, each problem one object with its place (RECOUP_LOG_FORMAT).
    let o = recoup()
        .args([
            "run",
            "--ledger",
            "fixtures/bad/many",
            "--policy",
            "policies/standard",
            "--as-of",
            "2026-11-16",
            "--out",
        ])
        .arg(tmp.path().join("bad"))
        .env("RECOUP_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<Value> = err.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    assert_eq!(lines[0]["stage"], "policy");
    let first = lines.iter().find(|l| l["level"] != "info").unwrap();
    assert_eq!(first["level"], "error");
    assert_eq!(first["at"], "fixtures/bad/many/invoices.csv:3 (column `due_date`)");
    assert!(lines.iter().any(|l| l["level"] == "error" && l["message"].as_str().unwrap().starts_with("7 bad row(s)")));
    assert_eq!(lines.last().unwrap()["exit_code"], 4);
}
