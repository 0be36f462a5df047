//! One integration binary (faster to link than many), with shared support code.
//! Every server here binds 127.0.0.1:0; no test sends traffic anywhere else.

mod alerts;
mod arbitrary;
mod assets;
mod cli;
mod compose;
mod daemon;
mod diagnosis;
mod dns;
mod docs;
mod egress;
mod hostile;
mod http_probe;
mod incidents;
mod judgement;
mod kubernetes;
mod language;
mod layers;
mod listener;
mod maintenance;
mod netns;
mod notifications;
mod ops;
mod outage;
mod page;
mod prometheus;
mod scheduler;
mod scrape;
mod secrets;
mod signed;
mod signed_gw;
mod story;
mod support;
mod systemd;
mod uptime;
