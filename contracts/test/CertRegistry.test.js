const { expect } = require("chai");
const { ethers } = require("hardhat");
const { loadFixture, time } = require("@nomicfoundation/hardhat-network-helpers");
const {
  ADMIN_ROLE, CODE_A, CODE_B, NAME_A, NAME_B, SMALL_ORDER_KEYS, WEAK_KEYS, withSignBit, encodeY, ed25519PublicKey,
  agencyIdOf, typeIdOf, deployFixture, blockTime,
} = require("./helpers");
const ed25519 = require("./ed25519");

// Real Ed25519 public keys (the registry refuses weak encodings; see "weak keys" below).
const KEY1 = ed25519PublicKey();
const KEY2 = ed25519PublicKey();
const NAME = "广东省深圳市公安局 Shenzhen Public Security Bureau";
const DEGREE = typeIdOf("DegreeCertificate");

/** ERC-165 id of an interface: XOR of its function selectors. */
async function interfaceId(name) {
  const { abi } = await artifacts.readArtifact(name);
  const iface = new ethers.Interface(abi);
  let id = 0n;
  iface.forEachFunction((f) => {
    id ^= BigInt(f.selector);
  });
  return ethers.toBeHex(id, 4);
}

describe("CertRegistry", function () {
  describe("deployment", function () {
    it("grants the admin (governance) role to the constructor argument only", async function () {
      const { registry, gov, opA, stranger } = await loadFixture(deployFixture);
      expect(await registry.hasRole(ADMIN_ROLE, gov.address)).to.equal(true);
      expect(await registry.hasRole(ADMIN_ROLE, opA.address)).to.equal(false);
      expect(await registry.hasRole(ADMIN_ROLE, stranger.address)).to.equal(false);
    });

    it("refuses a zero admin", async function () {
      const Registry = await ethers.getContractFactory("CertRegistry");
      await expect(Registry.deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(Registry, "ZeroAddress");
    });

    it("starts with no agencies", async function () {
      const [gov] = await ethers.getSigners();
      const registry = await ethers.deployContract("CertRegistry", [gov.address]);
      expect(await registry.agencyCount()).to.equal(0);
      expect(await registry.agencyIdAt(1)).to.equal(ethers.ZeroHash);
    });

    it("advertises ICertRegistry and IAccessControl through ERC-165", async function () {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.supportsInterface(await interfaceId("ICertRegistry"))).to.equal(true);
      expect(await registry.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await registry.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await registry.supportsInterface("0xffffffff")).to.equal(false);
      expect(await registry.supportsInterface("0x12345678")).to.equal(false);
    });
  });

  describe("registerAgency", function () {
    it("registers an active agency with id keccak256(code), its name, and an enumeration index from 1", async function () {
      const { registry, A, B } = await loadFixture(deployFixture);
      expect(A).to.equal(ethers.keccak256(ethers.toUtf8Bytes(CODE_A)));
      expect(await registry.agencyCount()).to.equal(2);
      expect(await registry.agencyIdAt(1)).to.equal(A);
      expect(await registry.agencyIdAt(2)).to.equal(B);
      expect(await registry.agencyInfo(A)).to.deep.equal([CODE_A, NAME_A, true]);
      expect(await registry.agencyInfo(B)).to.deep.equal([CODE_B, NAME_B, true]);
    });

    it("returns the agency id and emits AgencyRegistered(agencyId, index, code, name)", async function () {
      const { registry } = await loadFixture(deployFixture);
      const code = "gd-sz-public-security";
      const id = agencyIdOf(code);
      expect(await registry.registerAgency.staticCall(code, NAME)).to.equal(id);
      await expect(registry.registerAgency(code, NAME)).to.emit(registry, "AgencyRegistered").withArgs(id, 3, code, NAME);
      expect(await registry.agencyIdAt(3)).to.equal(id);
      expect(await registry.agencyCount()).to.equal(3);
      expect(await registry.agencyInfo(id)).to.deep.equal([code, NAME, true]);
    });

    it("refuses a code registered before, whatever the name", async function () {
      const { registry, A } = await loadFixture(deployFixture);
      for (const name of [NAME_A, "another name"]) {
        await expect(registry.registerAgency(CODE_A, name)).to.be.revertedWithCustomError(registry, "AgencyExists").withArgs(A);
      }
      expect(await registry.agencyInfo(A)).to.deep.equal([CODE_A, NAME_A, true]);
    });

    // 200 bytes: ASCII, and 3-byte UTF-8 characters (66 x 3 + 2)
    for (const [what, name] of [["1 byte", "x"], ["200 ASCII bytes", "n".repeat(200)], ["200 bytes of UTF-8", "局".repeat(66) + "ab"]]) {
      it(`accepts a name of ${what}`, async function () {
        const { registry } = await loadFixture(deployFixture);
        expect(Buffer.byteLength(name)).to.be.lte(200);
        await expect(registry.registerAgency("new-agency", name)).to.emit(registry, "AgencyRegistered");
        expect((await registry.agencyInfo(agencyIdOf("new-agency")))[1]).to.equal(name);
      });
    }

    for (const [what, name] of [["empty", ""], ["201 ASCII bytes", "n".repeat(201)], ["201 bytes of UTF-8", "局".repeat(67)]]) {
      it(`refuses a name that is ${what} with InvalidAgencyName`, async function () {
        const { registry } = await loadFixture(deployFixture);
        await expect(registry.registerAgency("new-agency", name)).to.be.revertedWithCustomError(registry, "InvalidAgencyName");
        expect(await registry.agencyInfo(agencyIdOf("new-agency"))).to.deep.equal(["", "", false]);
        expect(await registry.agencyCount()).to.equal(2);
      });
    }

    for (const code of ["abc", "a-1", "---", "x".repeat(64), "0123456789-abcdefghijklmnopqrstuvwxyz"]) {
      it(`accepts the valid code "${code.length > 20 ? code.slice(0, 20) + "…" : code}"`, async function () {
        const { registry } = await loadFixture(deployFixture);
        await expect(registry.registerAgency(code, NAME)).to.emit(registry, "AgencyRegistered");
      });
    }

    const invalid = {
      empty: "",
      "too short": "ab",
      "too long": "x".repeat(65),
      uppercase: "Zj-hz",
      space: "zj hz",
      underscore: "zj_hz",
      dot: "zj.hz",
      slash: "zj/hz",
      "non-ASCII": "zj-hz-教育",
      "NUL byte": "abc\u0000",
      "char after z": "ab{",
      "char before 0": "ab/",
      "char after 9": "ab:",
      "char before a": "ab`",
    };
    for (const [what, code] of Object.entries(invalid)) {
      it(`refuses an invalid code (${what}) with InvalidAgencyCode`, async function () {
        const { registry } = await loadFixture(deployFixture);
        await expect(registry.registerAgency(code, NAME))
          .to.be.revertedWithCustomError(registry, "InvalidAgencyCode")
          .withArgs(code);
      });
    }

    it("is governance-only", async function () {
      const { registry, opA, stranger } = await loadFixture(deployFixture);
      for (const who of [opA, stranger]) {
        await expect(registry.connect(who).registerAgency("new-agency", NAME))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, ADMIN_ROLE);
      }
    });
  });

  describe("setAgencyName", function () {
    it("changes the display name, emitting AgencyNameChanged; code and id stay", async function () {
      const { registry, A, B } = await loadFixture(deployFixture);
      await expect(registry.setAgencyName(A, NAME)).to.emit(registry, "AgencyNameChanged").withArgs(A, NAME);
      expect(await registry.agencyInfo(A)).to.deep.equal([CODE_A, NAME, true]);
      expect(await registry.agencyInfo(B)).to.deep.equal([CODE_B, NAME_B, true]);
      expect(await registry.agencyIdAt(1)).to.equal(A);
    });

    it("refuses an invalid name and an unknown agency", async function () {
      const { registry, A } = await loadFixture(deployFixture);
      for (const name of ["", "n".repeat(201)]) {
        await expect(registry.setAgencyName(A, name)).to.be.revertedWithCustomError(registry, "InvalidAgencyName");
      }
      const id = ethers.id("nope");
      await expect(registry.setAgencyName(id, NAME)).to.be.revertedWithCustomError(registry, "UnknownAgency").withArgs(id);
      expect(await registry.agencyInfo(A)).to.deep.equal([CODE_A, NAME_A, true]);
      expect(await registry.agencyInfo(id)).to.deep.equal(["", "", false]);
    });

    it("is governance-only (not even the agency's own operator)", async function () {
      const { registry, A, opA, opB, stranger } = await loadFixture(deployFixture);
      for (const who of [opA, opB, stranger]) {
        await expect(registry.connect(who).setAgencyName(A, NAME))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, ADMIN_ROLE);
      }
    });
  });

  describe("agency reads", function () {
    it("report zeros for an unknown agency or index", async function () {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.agencyInfo(ethers.id("nope"))).to.deep.equal(["", "", false]);
      expect(await registry.agencyInfo(ethers.ZeroHash)).to.deep.equal(["", "", false]);
      expect(await registry.agencyIdAt(0)).to.equal(ethers.ZeroHash);
      expect(await registry.agencyIdAt(3)).to.equal(ethers.ZeroHash);
      expect(await registry.agencyIdAt(2 ** 32 - 1)).to.equal(ethers.ZeroHash);
    });
  });

  describe("setAgencyActive", function () {
    it("deactivates and reactivates, emitting AgencyActiveChanged", async function () {
      const { registry, A, opA } = await loadFixture(deployFixture);
      await expect(registry.setAgencyActive(A, false)).to.emit(registry, "AgencyActiveChanged").withArgs(A, false);
      expect(await registry.agencyInfo(A)).to.deep.equal([CODE_A, NAME_A, false]);
      expect(await registry.operatorInfo(opA.address)).to.deep.equal([A, false]);
      await expect(registry.setAgencyActive(A, true)).to.emit(registry, "AgencyActiveChanged").withArgs(A, true);
      expect(await registry.operatorInfo(opA.address)).to.deep.equal([A, true]);
      expect(await registry.agencyInfo(A)).to.deep.equal([CODE_A, NAME_A, true]);
    });

    it("refuses an unknown agency", async function () {
      const { registry } = await loadFixture(deployFixture);
      const id = ethers.id("nope");
      await expect(registry.setAgencyActive(id, false)).to.be.revertedWithCustomError(registry, "UnknownAgency").withArgs(id);
    });

    it("is governance-only (not even the agency's own operator)", async function () {
      const { registry, A, opA, opB, stranger } = await loadFixture(deployFixture);
      for (const who of [opA, opB, stranger]) {
        await expect(registry.connect(who).setAgencyActive(A, false))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, ADMIN_ROLE);
      }
    });
  });

  describe("addOperator / removeOperator", function () {
    it("adds an operator: agencyOf and operatorInfo report its agency", async function () {
      const { registry, A, B, opA, opB, extra } = await loadFixture(deployFixture);
      expect(await registry.agencyOf(opA.address)).to.equal(A);
      expect(await registry.agencyOf(opB.address)).to.equal(B);
      expect(await registry.operatorInfo(opB.address)).to.deep.equal([B, true]);
      await expect(registry.addOperator(B, extra.address)).to.emit(registry, "OperatorAdded").withArgs(B, extra.address);
      expect(await registry.agencyOf(extra.address)).to.equal(B);
    });

    it("reports zeros for an address that is no operator", async function () {
      const { registry, gov, stranger } = await loadFixture(deployFixture);
      expect(await registry.agencyOf(stranger.address)).to.equal(ethers.ZeroHash);
      expect(await registry.agencyOf(gov.address)).to.equal(ethers.ZeroHash);
      expect(await registry.operatorInfo(stranger.address)).to.deep.equal([ethers.ZeroHash, false]);
    });

    it("refuses an operator already assigned, to the same or another agency", async function () {
      const { registry, A, B, opA } = await loadFixture(deployFixture);
      for (const id of [A, B]) {
        await expect(registry.addOperator(id, opA.address))
          .to.be.revertedWithCustomError(registry, "OperatorAssigned")
          .withArgs(opA.address, A);
      }
    });

    it("refuses the zero address and unknown agencies", async function () {
      const { registry, A, extra } = await loadFixture(deployFixture);
      await expect(registry.addOperator(A, ethers.ZeroAddress)).to.be.revertedWithCustomError(registry, "ZeroAddress");
      const id = ethers.id("nope");
      await expect(registry.addOperator(id, extra.address)).to.be.revertedWithCustomError(registry, "UnknownAgency").withArgs(id);
    });

    it("removes an operator, emitting OperatorRemoved(agencyId, operator); it may then join another agency", async function () {
      const { registry, A, B, opA } = await loadFixture(deployFixture);
      await expect(registry.removeOperator(opA.address)).to.emit(registry, "OperatorRemoved").withArgs(A, opA.address);
      expect(await registry.agencyOf(opA.address)).to.equal(ethers.ZeroHash);
      expect(await registry.operatorInfo(opA.address)).to.deep.equal([ethers.ZeroHash, false]);
      await registry.addOperator(B, opA.address);
      expect(await registry.operatorInfo(opA.address)).to.deep.equal([B, true]);
    });

    it("refuses to remove an address that is no operator", async function () {
      const { registry, stranger } = await loadFixture(deployFixture);
      await expect(registry.removeOperator(stranger.address))
        .to.be.revertedWithCustomError(registry, "UnknownOperator")
        .withArgs(stranger.address);
    });

    it("are governance-only", async function () {
      const { registry, A, opA, opA2, stranger, extra } = await loadFixture(deployFixture);
      for (const who of [opA, stranger]) {
        await expect(registry.connect(who).addOperator(A, extra.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, ADMIN_ROLE);
        await expect(registry.connect(who).removeOperator(opA2.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, ADMIN_ROLE);
      }
    });
  });

  describe("setTypePermitted / isPermitted", function () {
    it("permits and withdraws a type per agency, emitting TypePermissionChanged", async function () {
      const { registry, A, B } = await loadFixture(deployFixture);
      expect(await registry.isPermitted(A, DEGREE)).to.equal(false);
      await expect(registry.setTypePermitted(A, DEGREE, true))
        .to.emit(registry, "TypePermissionChanged")
        .withArgs(A, DEGREE, true);
      expect(await registry.isPermitted(A, DEGREE)).to.equal(true);
      expect(await registry.isPermitted(B, DEGREE)).to.equal(false);
      expect(await registry.isPermitted(A, typeIdOf("BirthCertificate"))).to.equal(false);
      await expect(registry.setTypePermitted(A, DEGREE, false))
        .to.emit(registry, "TypePermissionChanged")
        .withArgs(A, DEGREE, false);
      expect(await registry.isPermitted(A, DEGREE)).to.equal(false);
    });

    it("refuses an unknown agency", async function () {
      const { registry } = await loadFixture(deployFixture);
      const id = ethers.id("nope");
      await expect(registry.setTypePermitted(id, DEGREE, true)).to.be.revertedWithCustomError(registry, "UnknownAgency").withArgs(id);
    });

    it("is governance-only (an agency cannot grant itself types)", async function () {
      const { registry, A, opA, stranger } = await loadFixture(deployFixture);
      for (const who of [opA, stranger]) {
        await expect(registry.connect(who).setTypePermitted(A, DEGREE, true))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(who.address, ADMIN_ROLE);
      }
    });
  });

  describe("addKey", function () {
    it("governance adds a key; validFrom 0 means the block time", async function () {
      const { registry, A } = await loadFixture(deployFixture);
      const tx = await registry.addKey(A, KEY1, 0);
      const t = await blockTime(await tx.wait());
      await expect(tx).to.emit(registry, "KeyAdded").withArgs(A, KEY1, t);
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([BigInt(t), 0n]);
    });

    it("an operator of the agency adds a key with an explicit validFrom", async function () {
      const { registry, A, opA2 } = await loadFixture(deployFixture);
      const from = 1_700_000_000;
      await expect(registry.connect(opA2).addKey(A, KEY1, from)).to.emit(registry, "KeyAdded").withArgs(A, KEY1, from);
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([BigInt(from), 0n]);
    });

    it("reports zeros for a key not registered for that agency", async function () {
      const { registry, A, B } = await loadFixture(deployFixture);
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([0n, 0n]);
      await registry.addKey(A, KEY1, 0);
      expect(await registry.keyOf(B, KEY1)).to.deep.equal([0n, 0n]);
      expect(await registry.keyOf(ethers.ZeroHash, KEY1)).to.deep.equal([0n, 0n]);
    });

    it("refuses a key registered before for the same agency (KeyExists(agencyId, key))", async function () {
      const { registry, A, opA } = await loadFixture(deployFixture);
      const tx = await registry.addKey(A, KEY1, 0);
      const t = BigInt(await blockTime(await tx.wait()));
      for (const [who, from] of [[registry, 0], [registry.connect(opA), 1]]) {
        await expect(who.addKey(A, KEY1, from)).to.be.revertedWithCustomError(registry, "KeyExists").withArgs(A, KEY1);
      }
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([t, 0n]); // validFrom never moves
    });

    it("two agencies register the same key bytes independently, in either order", async function () {
      const { registry, A, B, opA, opB } = await loadFixture(deployFixture);
      const a = await (await registry.connect(opA).addKey(A, KEY1, 1_600_000_000)).wait();
      await expect(registry.connect(opB).addKey(B, KEY1, 0)).to.emit(registry, "KeyAdded");
      await expect(registry.connect(opB).addKey(B, KEY2, 0)).to.emit(registry, "KeyAdded");
      await expect(registry.connect(opA).addKey(A, KEY2, 1_650_000_000)).to.emit(registry, "KeyAdded").withArgs(A, KEY2, 1_650_000_000);
      expect(a.status).to.equal(1);
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([1_600_000_000n, 0n]);
      expect(await registry.keyOf(A, KEY2)).to.deep.equal([1_650_000_000n, 0n]);
      expect((await registry.keyOf(B, KEY1))[0]).to.be.greaterThan(1_650_000_000n);
    });

    it("refuses an unknown agency", async function () {
      const { registry } = await loadFixture(deployFixture);
      const id = ethers.id("nope");
      await expect(registry.addKey(id, KEY1, 0)).to.be.revertedWithCustomError(registry, "UnknownAgency").withArgs(id);
    });

    it("operators of agency B cannot add keys for agency A", async function () {
      const { registry, A, opB } = await loadFixture(deployFixture);
      await expect(registry.connect(opB).addKey(A, KEY1, 0))
        .to.be.revertedWithCustomError(registry, "NotAgencyOperator")
        .withArgs(opB.address, A);
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([0n, 0n]);
    });

    it("strangers and removed operators cannot add keys (not even for agency id 0)", async function () {
      const { registry, A, opA, stranger } = await loadFixture(deployFixture);
      await expect(registry.connect(stranger).addKey(A, KEY1, 0))
        .to.be.revertedWithCustomError(registry, "NotAgencyOperator")
        .withArgs(stranger.address, A);
      await expect(registry.connect(stranger).addKey(ethers.ZeroHash, KEY1, 0))
        .to.be.revertedWithCustomError(registry, "NotAgencyOperator")
        .withArgs(stranger.address, ethers.ZeroHash);
      await registry.removeOperator(opA.address);
      await expect(registry.connect(opA).addKey(A, KEY1, 0))
        .to.be.revertedWithCustomError(registry, "NotAgencyOperator")
        .withArgs(opA.address, A);
    });

    it("a deactivated agency's operator may still manage keys", async function () {
      const { registry, A, opA } = await loadFixture(deployFixture);
      await registry.setAgencyActive(A, false);
      await expect(registry.connect(opA).addKey(A, KEY1, 0)).to.emit(registry, "KeyAdded");
      await expect(registry.connect(opA).revokeKey(A, KEY1, 0)).to.emit(registry, "KeyRevoked");
    });
  });

  describe("weak keys (WeakKey(bytes32))", function () {
    for (const [what, key] of Object.entries(SMALL_ORDER_KEYS)) {
      for (const [sign, encoded] of [["sign bit clear", key], ["sign bit set", withSignBit(key)]]) {
        it(`refuses the small-order point ${what}, ${sign}`, async function () {
          const { registry, A, opA } = await loadFixture(deployFixture);
          for (const who of [registry, registry.connect(opA)]) {
            await expect(who.addKey(A, encoded, 0)).to.be.revertedWithCustomError(registry, "WeakKey").withArgs(encoded);
          }
          expect(await registry.keyOf(A, encoded)).to.deep.equal([0n, 0n]);
        });
      }
    }

    const P = ed25519.P;
    const nonCanonical = {
      "y = p": encodeY(P),
      "y = p + 1 (a second spelling of y = 1)": encodeY(P + 1n),
      "y = p + 5": encodeY(P + 5n),
      "y = p + 18": encodeY(P + 18n),
      "y = 2^255 - 1": encodeY(2n ** 255n - 1n),
      "y = p, sign bit set": withSignBit(encodeY(P)),
      "y = 2^255 - 1, sign bit set (all bytes 0xff)": "0x" + "ff".repeat(32),
    };
    for (const [what, key] of Object.entries(nonCanonical)) {
      it(`refuses a non-canonical encoding: ${what}`, async function () {
        const { registry, A } = await loadFixture(deployFixture);
        await expect(registry.addKey(A, key, 0)).to.be.revertedWithCustomError(registry, "WeakKey").withArgs(key);
      });
    }

    it("the refused encodings are exactly the 8 small-order points of the curve (checked by arithmetic)", function () {
      const points = WEAK_KEYS.map(ed25519.decode).filter((p) => p !== null);
      // y = 1 and y = p-1 have x = 0, whose sign-bit-set spelling is not canonical: 10 encodings, 8 points
      expect(points.length).to.equal(8);
      expect(new Set(points.map((p) => `${p.x},${p.y}`)).size).to.equal(8);
      for (const p of points) expect(ed25519.isIdentity(ed25519.times8(p))).to.equal(true);
      // and a real key is not of small order
      const real = ed25519.decode(KEY1);
      expect(real).to.not.equal(null);
      expect(ed25519.isIdentity(ed25519.times8(real))).to.equal(false);
    });

    it("accepts real keys and the encodings next to the refused ones", async function () {
      const { registry, A } = await loadFixture(deployFixture);
      const P = ed25519.P;
      const near = [
        ed25519PublicKey(),
        encodeY(2n),
        encodeY(P - 2n), // the largest canonical y below p-1
        withSignBit(encodeY(P - 2n)),
        "0x26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc04", // order-8 y minus one
        "0x0000000000000000000000000000000000000000000000000000000000000001", // y = 2^248
        "0x0000000000000000000000000000000000000000000000000000000000000040", // the bit below the sign bit
      ];
      for (const key of near) {
        await expect(registry.addKey(A, key, 0), key).to.emit(registry, "KeyAdded");
      }
    });
  });

  describe("revokeKey", function () {
    async function withKey() {
      const f = await loadFixture(deployFixture);
      const tx = await f.registry.connect(f.opA).addKey(f.A, KEY1, 0);
      const validFrom = await blockTime(await tx.wait());
      return { ...f, validFrom };
    }

    it("revokedAt 0 revokes as of the block time", async function () {
      const { registry, A, opA, validFrom } = await withKey();
      await time.increase(100);
      const tx = await registry.connect(opA).revokeKey(A, KEY1, 0);
      const t = await blockTime(await tx.wait());
      await expect(tx).to.emit(registry, "KeyRevoked").withArgs(A, KEY1, t);
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([BigInt(validFrom), BigInt(t)]);
    });

    it("a key revoked as of a past time T (compromise) is reported with revokedAt == T", async function () {
      const { registry, A, opA, validFrom } = await withKey();
      await time.increase(3600);
      const T = validFrom + 1000;
      await expect(registry.connect(opA).revokeKey(A, KEY1, T)).to.emit(registry, "KeyRevoked").withArgs(A, KEY1, T);
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([BigInt(validFrom), BigInt(T)]);
    });

    it("a revoked key may be revoked again only to a strictly earlier time", async function () {
      const { registry, A, opA, validFrom } = await withKey();
      await time.increase(3600);
      const T = validFrom + 1000;
      await registry.connect(opA).revokeKey(A, KEY1, T);
      await expect(registry.connect(opA).revokeKey(A, KEY1, T))
        .to.be.revertedWithCustomError(registry, "InvalidRevocationTime")
        .withArgs(KEY1, T);
      await expect(registry.connect(opA).revokeKey(A, KEY1, T + 1))
        .to.be.revertedWithCustomError(registry, "InvalidRevocationTime")
        .withArgs(KEY1, T + 1);
      // "now" is later than T, so it is refused as well
      await expect(registry.connect(opA).revokeKey(A, KEY1, 0)).to.be.revertedWithCustomError(registry, "InvalidRevocationTime");
      await expect(registry.connect(opA).revokeKey(A, KEY1, T - 1)).to.emit(registry, "KeyRevoked").withArgs(A, KEY1, T - 1);
      await expect(registry.revokeKey(A, KEY1, validFrom)).to.emit(registry, "KeyRevoked").withArgs(A, KEY1, validFrom);
      expect((await registry.keyOf(A, KEY1))[1]).to.equal(BigInt(validFrom));
    });

    it("refuses a time before validFrom or in the future", async function () {
      const { registry, A, opA, validFrom } = await withKey();
      await time.increase(10);
      await expect(registry.connect(opA).revokeKey(A, KEY1, validFrom - 1))
        .to.be.revertedWithCustomError(registry, "InvalidRevocationTime")
        .withArgs(KEY1, validFrom - 1);
      const future = (await time.latest()) + 1000;
      await expect(registry.connect(opA).revokeKey(A, KEY1, future))
        .to.be.revertedWithCustomError(registry, "InvalidRevocationTime")
        .withArgs(KEY1, future);
      expect((await registry.keyOf(A, KEY1))[1]).to.equal(0n);
    });

    it("accepts revokedAt == validFrom and revokedAt == now", async function () {
      const { registry, A, opA, validFrom } = await withKey();
      await registry.connect(opA).addKey(A, KEY2, 0);
      await expect(registry.connect(opA).revokeKey(A, KEY1, validFrom)).to.emit(registry, "KeyRevoked").withArgs(A, KEY1, validFrom);
      const now = (await time.latest()) + 1;
      await time.setNextBlockTimestamp(now);
      await expect(registry.connect(opA).revokeKey(A, KEY2, now)).to.emit(registry, "KeyRevoked").withArgs(A, KEY2, now);
    });

    it("revoking 'now' a key not yet valid records validFrom: the key never becomes valid", async function () {
      const { registry, A, opA } = await loadFixture(deployFixture);
      const from = (await time.latest()) + 86400;
      await registry.connect(opA).addKey(A, KEY1, from);
      await expect(registry.connect(opA).revokeKey(A, KEY1, 0)).to.emit(registry, "KeyRevoked").withArgs(A, KEY1, from);
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([BigInt(from), BigInt(from)]);
    });

    it("refuses a key not registered for that agency (UnknownKey(agencyId, key)), even if another agency holds it", async function () {
      const { registry, A, B, opB } = await withKey();
      await expect(registry.revokeKey(A, KEY2, 0)).to.be.revertedWithCustomError(registry, "UnknownKey").withArgs(A, KEY2);
      await expect(registry.connect(opB).revokeKey(B, KEY1, 0)).to.be.revertedWithCustomError(registry, "UnknownKey").withArgs(B, KEY1);
      const id = ethers.id("nope");
      await expect(registry.revokeKey(id, KEY1, 0)).to.be.revertedWithCustomError(registry, "UnknownKey").withArgs(id, KEY1);
      expect((await registry.keyOf(A, KEY1))[1]).to.equal(0n);
    });

    it("governance may revoke any agency's key", async function () {
      const { registry, A } = await withKey();
      const tx = await registry.revokeKey(A, KEY1, 0);
      await expect(tx).to.emit(registry, "KeyRevoked").withArgs(A, KEY1, await blockTime(await tx.wait()));
    });

    it("operators of agency B cannot revoke agency A's keys; strangers cannot either", async function () {
      const { registry, A, opB, stranger } = await withKey();
      for (const who of [opB, stranger]) {
        await expect(registry.connect(who).revokeKey(A, KEY1, 0))
          .to.be.revertedWithCustomError(registry, "NotAgencyOperator")
          .withArgs(who.address, A);
      }
      expect((await registry.keyOf(A, KEY1))[1]).to.equal(0n);
    });

    it("revoking agency B's copy of the same key bytes leaves agency A's key as it was", async function () {
      const { registry, A, B, opB, validFrom } = await withKey();
      await registry.connect(opB).addKey(B, KEY1, 0);
      await time.increase(60);
      await expect(registry.connect(opB).revokeKey(B, KEY1, 0)).to.emit(registry, "KeyRevoked");
      expect(await registry.keyOf(A, KEY1)).to.deep.equal([BigInt(validFrom), 0n]);
      expect((await registry.keyOf(B, KEY1))[1]).to.not.equal(0n);
    });
  });
  describe("governance hand-over (AccessControl)", function () {
    it("a new admin can govern; a renounced admin cannot", async function () {
      const { registry, gov, extra } = await loadFixture(deployFixture);
      await registry.grantRole(ADMIN_ROLE, extra.address);
      await registry.renounceRole(ADMIN_ROLE, gov.address);
      await expect(registry.connect(extra).registerAgency("new-agency", NAME)).to.emit(registry, "AgencyRegistered");
      await expect(registry.registerAgency("other-agency", NAME))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(gov.address, ADMIN_ROLE);
      await expect(registry.addKey(agencyIdOf(CODE_A), KEY1, 0))
        .to.be.revertedWithCustomError(registry, "NotAgencyOperator")
        .withArgs(gov.address, agencyIdOf(CODE_A));
    });

    it("only an admin can grant the admin role", async function () {
      const { registry, opA, stranger } = await loadFixture(deployFixture);
      await expect(registry.connect(opA).grantRole(ADMIN_ROLE, stranger.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(opA.address, ADMIN_ROLE);
    });
  });
});
