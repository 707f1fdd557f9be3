// The 监票人's key page: the ballot box key pair made here, in this browser (X25519 from the
// vendored @noble/curves), the key file and key sheets offered to save and print, and only
// the public key sent to the server. The key files and the fingerprint are the same as the
// ``ballot-box keygen`` command's (survey/ballotbox/keyfile.py, keys.fingerprint).
import { x25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import encodeQR from "@paulmillr/qr";
import { combine, splitKey } from "./slip39.js";

const $ = (id) => document.getElementById(id);
const sheets = $("sheets");
const round = { slug: sheets.dataset.roundSlug, title: sheets.dataset.roundTitle };
let made = null;

function fingerprint(publicKey) {
  const digest = bytesToHex(sha256(new Uint8Array([...utf8ToBytes("survey ballot box\0"), ...publicKey])));
  return digest.slice(0, 16).toUpperCase().match(/.{4}/g).join("-");
}

function publicDocument(publicKey) {
  return { kind: "survey-ballot-box-public-key", version: 1, round: round.slug,
    fingerprint: fingerprint(publicKey), public_key: bytesToHex(publicKey) };
}

function same(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function element(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function sheet(words, mark, share) {
  const heading = share ? `评议投票箱密钥 · 分片 ${share.number}/${share.count}` : "评议投票箱密钥";
  const warning = share
    ? `请妥善保管本页，不要拍照、复印、上传或发给任何人。本页是投票箱密钥的一份分片：单独一份看不出密钥，任意 ${share.threshold} 份合在一起才能打开投票箱。监票小组中同时丢失 ${share.count - share.threshold + 1} 份及以上，本轮评议将无法计票，任何人都无法找回。`
    : "请妥善保管本页（锁入保险柜或密封存档），不要拍照、复印、上传或发给任何人。这把密钥是打开本轮评议投票箱的唯一钥匙：服务器上没有它的副本。密钥丢失，本轮评议的选票将永远无法打开、无法计票，任何人（包括系统管理员）都无法找回。";
  const use = share
    ? `结束评议时：任意 ${share.threshold} 位监票小组成员在管理后台“结束评议”页各自输入本页的 33 个词（或扫描二维码）。`
    : "结束评议时：在管理后台“结束评议”页上传密钥文件，或逐词输入下面的 33 个词（也可扫描二维码得到这些词）。";
  const qr = element("div", { class: "qr" });
  qr.innerHTML = encodeQR(words, "svg", { ecc: "medium", border: 4 });
  const list = element("ol");
  words.split(" ").forEach((word, i) => list.append(element("li", {}, element("span", {}, `${i + 1}.`), word)));
  return element("section", { class: "sheet" },
    element("h2", {}, heading),
    element("p", {}, share ? `监票小组保管：共 ${share.count} 份，任意 ${share.threshold} 份可开箱` : "监票人保管"),
    element("p", {}, `评议：${round.title}`, element("br"), `标识：${round.slug}`),
    element("p", {}, "密钥指纹 ", element("span", { class: "fingerprint" }, mark)),
    element("p", { class: "note" }, "开始评议后，管理后台、海报和问卷页底部显示的投票箱指纹应与此相同；不同则说明公钥被调换，请立即告知组织者。"),
    element("div", { class: "box" }, warning),
    element("div", { class: "body" }, qr, list),
    element("p", {}, use),
    element("p", { class: "note" }, `生成于 ${new Date().toISOString().slice(0, 10)}，在监票人自己的浏览器中生成；服务器只收到公钥（指纹 ${mark}）。`));
}

function download(name, document_) {
  const blob = new Blob([JSON.stringify(document_, null, 2) + "\n"], { type: "application/json" });
  const link = element("a", { href: URL.createObjectURL(blob), download: name, class: "btn" });
  return link;
}

function generate() {
  const shares = document.querySelector("input[name=mode]:checked").value === "shares";
  const secretKey = x25519.utils.randomSecretKey();
  const publicKey = x25519.getPublicKey(secretKey);
  const mark = fingerprint(publicKey);
  const mnemonics = shares ? splitKey(secretKey, 2, 3) : splitKey(secretKey);
  // read the words back before anything is shown: every pair of shares, or the one mnemonic
  const checks = shares ? [[0, 1], [0, 2], [1, 2]].map((p) => p.map((i) => mnemonics[i])) : [mnemonics];
  for (const check of checks) {
    if (!same(combine(check), secretKey)) throw new Error("the key words do not give the key back");
  }
  const slug = round.slug;
  const links = $("downloads");
  links.replaceChildren();
  sheets.replaceChildren();
  if (shares) {
    mnemonics.forEach((words, i) => {
      sheets.append(sheet(words, mark, { number: i + 1, count: 3, threshold: 2 }));
      const link = download(`${slug}.share-${i + 1}.json`, { ...publicDocument(publicKey),
        kind: "survey-ballot-box-key-share", share: i + 1, of: 3, threshold: 2, words });
      link.textContent = `下载分片 ${i + 1} 的文件`;
      links.append(link);
    });
  } else {
    sheets.append(sheet(mnemonics[0], mark));
    const link = download(`${slug}.key.json`, { ...publicDocument(publicKey), kind: "survey-ballot-box-key",
      private_key: bytesToHex(secretKey) });
    link.textContent = "下载密钥文件";
    links.append(link);
  }
  made = { publicKey, mark };
  $("fingerprint").textContent = mark;
  $("step1").querySelectorAll("input,button").forEach((n) => { n.disabled = true; });
  $("step2").hidden = false;
  $("step3").hidden = false;
}

async function send() {
  const status = $("status");
  $("send").disabled = true;
  status.className = "";
  status.textContent = "正在发送公钥……";
  try {
    const response = await fetch(sheets.dataset.deliver, {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ public_key: bytesToHex(made.publicKey) }),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || `服务器拒绝（${response.status}）`);
    if (answer.fingerprint !== made.mark) throw new Error(`服务器记下的指纹 ${answer.fingerprint} 与本机的 ${made.mark} 不同，请告知组织者`);
    status.className = "ok";
    status.textContent = `服务器已收到公钥，指纹 ${answer.fingerprint}，与本机一致。本链接已失效。请保管好密钥，结束评议时交出。`;
    $("saved").disabled = true;
  } catch (error) {
    status.className = "err";
    status.textContent = `未能交给服务器：${error.message}`;
    $("send").disabled = !$("saved").checked;
  }
}

if (!window.isSecureContext) {
  $("insecure").hidden = false;
} else {
  $("generate").disabled = false;
  $("generate").addEventListener("click", () => {
    try {
      generate();
    } catch (error) {
      $("status").className = "err";
      $("status").textContent = `生成失败：${error.message}`;
    }
  });
  $("print").addEventListener("click", () => window.print());
  $("saved").addEventListener("change", (event) => { $("send").disabled = !event.target.checked; });
  $("send").addEventListener("click", send);
}
