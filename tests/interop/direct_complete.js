// A client that is not ours: the Node SDK wechatpay-axios-plugin, unchanged, against the
// wechatpay-rs sandbox. It signs the request itself and verifies the signed 204 itself
// (its response verifier checks Wechatpay-Serial, the timestamp and the RSA signature).
//
// Inputs (environment): SANDBOX_URL, MCHID, SERIAL, PRIVATE_KEY_FILE, PUBLIC_KEY_ID,
// PUBLIC_KEY_FILE, ORDER_JSON, SUB_MCHID, SERVICE_ID. Prints one JSON line.
'use strict';

const { readFileSync } = require('fs');
const { Wechatpay } = require('wechatpay-axios-plugin');

async function main() {
  const env = process.env;
  const wxpay = new Wechatpay({
    mchid: env.MCHID,
    serial: env.SERIAL,
    privateKey: readFileSync(env.PRIVATE_KEY_FILE),
    certs: { [env.PUBLIC_KEY_ID]: readFileSync(env.PUBLIC_KEY_FILE) },
    baseURL: env.SANDBOX_URL,
  });
  const order = JSON.parse(env.ORDER_JSON);
  const created = await wxpay.v3.payscore.partner.serviceorder.directComplete.post(order);
  const queried = await wxpay.v3.payscore.partner.serviceorder.get({
    params: { service_id: env.SERVICE_ID, sub_mchid: env.SUB_MCHID, out_order_no: order.out_order_no },
  });
  let rejected = null;
  try {
    await wxpay.v3.payscore.partner.serviceorder.directComplete.post({ ...order, total_amount: order.total_amount + 1 });
  } catch (e) {
    rejected = { status: e.response && e.response.status, code: e.response && e.response.data && e.response.data.code };
  }
  console.log(JSON.stringify({
    status: created.status,
    verified_serial: created.headers['wechatpay-serial'],
    query_status: queried.status,
    state: queried.data.state,
    rejected,
  }));
}

main().catch((e) => {
  console.error(`interop failed: ${e.message}${e.response ? ` (HTTP ${e.response.status} ${JSON.stringify(e.response.data)})` : ''}`);
  process.exit(1);
});
