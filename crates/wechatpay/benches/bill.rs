#![allow(missing_docs, clippy::unwrap_used)]
//! Trade-bill parsing: typed rows (header mapping, backquotes, exact yuan → fen, summary
//! check) against a plain split of the same lines, on a 100 000-row bill in the official
//! layout. Run: `cargo bench -p wechatpay --bench bill`; rows/s = 100 000 / time.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wechatpay_models::v3::bill::trade::TradeBillParser;

const ROWS: u64 = 100_000;

fn bill() -> String {
    let mut s = String::from(
        "\u{feff}交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n",
    );
    let mut total = 0u64;
    for i in 0..ROWS {
        let fen = 100 + i % 4901;
        total += fen;
        let yuan = format!("{}.{:02}", fen / 100, fen % 100);
        let fee = format!("{}.{:05}", fen * 6 / 100_000, fen * 6 % 100_000);
        s.push_str(&format!(
            "`2025-03-01 10:00:05,`wxd678efh567hg6787,`1900000001,`1900000109,`,`4200002501202503{i:012},`1217752501201407{i:012},`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`AUTH,`SUCCESS,`OTHERS,`CNY,`{yuan},`0.00,`0,`0,`0.00,`0.00,`,`,`XX充电宝,`wxzff|10000000002025030100{i:011}|RENT{i},`{fee},`0.60%,`{yuan},`0.00,`\r\n"
        ));
    }
    let fees = total * 6;
    s.push_str("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n");
    s.push_str(&format!(
        "`{ROWS},`{}.{:02},`0.00,`0.00,`{}.{:05},`{}.{:02},`0.00\r\n",
        total / 100,
        total % 100,
        fees / 100_000,
        fees % 100_000,
        total / 100,
        total % 100
    ));
    s
}

fn parsing(c: &mut Criterion) {
    let text = bill();
    let mut g = c.benchmark_group("trade_bill_100k_rows");
    g.throughput(Throughput::Elements(ROWS));
    g.sample_size(10);
    g.bench_function("typed_rows", |b| {
        b.iter(|| {
            let mut p = TradeBillParser::new();
            let mut n = 0u64;
            for line in text.split('\n') {
                if p.line(line).unwrap().is_some() {
                    n += 1;
                }
            }
            let summary = p.finish().unwrap();
            assert_eq!(summary.count, n);
            black_box(n)
        });
    });
    g.bench_function("plain_split", |b| {
        b.iter(|| {
            let mut fields = 0usize;
            for line in text.split('\n') {
                fields += line.split(",`").count();
            }
            black_box(fields)
        });
    });
    g.finish();
}

criterion_group!(benches, parsing);
criterion_main!(benches);
