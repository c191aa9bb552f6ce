// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ICertRegistry} from "./interfaces/ICertRegistry.sol";

/// @title CertRegistry: agencies, their operators, signing keys and permitted credential types.
/// @notice Governance is DEFAULT_ADMIN_ROLE. See ICertRegistry and the protocol v2 decisions
/// ("Contracts v2"): signing keys live in the namespace of one agency.
contract CertRegistry is ICertRegistry, AccessControl {
    /// `exists` and `active` share the struct's first slot, so that `operatorInfo` (the ledger's hot
    /// path) costs two cold SLOADs: operator -> agencyId, then that slot. The strings follow in
    /// slots of their own and are only read by `agencyInfo`.
    struct Agency {
        bool exists;
        bool active;
        string code;
        string name;
    }

    /// One slot per (agency, key). validFrom 0 = not registered (a registered key always has a
    /// nonzero validFrom: 0 in addKey means block.timestamp).
    struct Key {
        uint64 validFrom;
        uint64 revokedAt; // 0: not revoked
    }

    uint256 private constant MAX_NAME_BYTES = 200;

    /// The eight small-order points of edwards25519, as bytes32 read as uint256 with the sign bit
    /// (0x80 of the last byte) cleared: y = 0, 1, p-1 and the two order-8 y values. Under such a key
    /// the "trivial" signature (R = small-order point, S = 0) verifies any message.
    uint256 private constant SMALL_ORDER_Y0 = 0;
    uint256 private constant SMALL_ORDER_Y1 = 0x0100000000000000000000000000000000000000000000000000000000000000;
    uint256 private constant SMALL_ORDER_P_MINUS_1 = 0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f;
    uint256 private constant SMALL_ORDER_8A = 0x26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05;
    uint256 private constant SMALL_ORDER_8B = 0xc7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a;
    uint256 private constant SIGN_BIT = 0x80;
    /// The low 31 bytes of every encoding with y >= p (sign cleared): bytes 1..30 0xff, last byte 0x7f.
    uint256 private constant HIGH_Y_TAIL = (1 << 248) - 0x81;
    uint256 private constant TAIL_MASK = (1 << 248) - 1;

    mapping(address operator => bytes32 agencyId) private _operatorAgency;
    mapping(bytes32 agencyId => Agency) private _agencies;
    mapping(uint32 index => bytes32 agencyId) private _agencyIdAt;
    uint32 private _agencyCount;
    mapping(bytes32 agencyId => mapping(bytes32 publicKey => Key)) private _keys;
    mapping(bytes32 agencyId => mapping(bytes32 typeId => bool)) private _permitted;

    constructor(address admin) {
        if (admin == address(0)) revert ZeroAddress(); // an ungoverned registry could never be fixed
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc ICertRegistry
    function registerAgency(string calldata code, string calldata name)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (bytes32 agencyId)
    {
        if (!_isValidCode(bytes(code))) revert InvalidAgencyCode(code);
        _requireValidName(name);
        agencyId = keccak256(bytes(code));
        Agency storage agency = _agencies[agencyId];
        if (agency.exists) revert AgencyExists(agencyId);
        uint32 index = ++_agencyCount;
        (agency.exists, agency.active, agency.code, agency.name) = (true, true, code, name);
        _agencyIdAt[index] = agencyId;
        emit AgencyRegistered(agencyId, index, code, name);
    }

    /// @inheritdoc ICertRegistry
    /// @dev The code (and so the agencyId) never changes; the display name may, e.g. after a
    /// reorganisation. Credentials carry the name they were issued under.
    function setAgencyName(bytes32 agencyId, string calldata name) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireAgency(agencyId);
        _requireValidName(name);
        _agencies[agencyId].name = name;
        emit AgencyNameChanged(agencyId, name);
    }

    /// @inheritdoc ICertRegistry
    function setAgencyActive(bytes32 agencyId, bool active) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireAgency(agencyId);
        _agencies[agencyId].active = active;
        emit AgencyActiveChanged(agencyId, active);
    }

    /// @inheritdoc ICertRegistry
    function addOperator(bytes32 agencyId, address operator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireAgency(agencyId);
        if (operator == address(0)) revert ZeroAddress();
        bytes32 current = _operatorAgency[operator];
        // One agency per operator, so the ledger can tell whose namespace an operator writes
        // without an argument (an argument could name another agency's namespace).
        if (current != bytes32(0)) revert OperatorAssigned(operator, current);
        _operatorAgency[operator] = agencyId;
        emit OperatorAdded(agencyId, operator);
    }

    /// @inheritdoc ICertRegistry
    function removeOperator(address operator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        bytes32 agencyId = _operatorAgency[operator];
        if (agencyId == bytes32(0)) revert UnknownOperator(operator);
        delete _operatorAgency[operator];
        emit OperatorRemoved(agencyId, operator);
    }

    /// @inheritdoc ICertRegistry
    function setTypePermitted(bytes32 agencyId, bytes32 typeId, bool permitted) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireAgency(agencyId);
        _permitted[agencyId][typeId] = permitted;
        emit TypePermissionChanged(agencyId, typeId, permitted);
    }

    // ------------------------------------------------------------------ governance or agency operator

    /// @inheritdoc ICertRegistry
    /// @dev Allowed for an inactive agency too: deactivation stops anchoring, not key management.
    /// Keyed (agencyId, publicKey): another agency holding the same bytes neither blocks nor is
    /// affected by this registration (v1's global key table let an agency squat another's key).
    function addKey(bytes32 agencyId, bytes32 publicKey, uint64 validFrom) external {
        _requireAgencyAuthority(agencyId);
        _requireAgency(agencyId);
        if (_isWeakKey(publicKey)) revert WeakKey(publicKey);
        Key storage key = _keys[agencyId][publicKey];
        // A key is registered once per agency: re-adding could move validFrom and re-validate.
        if (key.validFrom != 0) revert KeyExists(agencyId, publicKey);
        uint64 from = validFrom == 0 ? uint64(block.timestamp) : validFrom;
        key.validFrom = from;
        emit KeyAdded(agencyId, publicKey, from);
    }

    /// @inheritdoc ICertRegistry
    /// @dev Revocation may only move earlier: a later time would re-validate credentials anchored in
    /// between, which is exactly what a compromise revocation must rule out. "Now" (0) on a key whose
    /// validFrom is still in the future is recorded as validFrom, i.e. the key never becomes valid.
    function revokeKey(bytes32 agencyId, bytes32 publicKey, uint64 revokedAt) external {
        _requireAgencyAuthority(agencyId);
        Key storage key = _keys[agencyId][publicKey];
        uint64 validFrom = key.validFrom;
        if (validFrom == 0) revert UnknownKey(agencyId, publicKey);
        uint64 at = revokedAt;
        if (at == 0) at = uint64(block.timestamp) < validFrom ? validFrom : uint64(block.timestamp);
        else if (at > block.timestamp || at < validFrom) revert InvalidRevocationTime(publicKey, at);
        uint64 current = key.revokedAt;
        if (current != 0 && at >= current) revert InvalidRevocationTime(publicKey, at);
        key.revokedAt = at;
        emit KeyRevoked(agencyId, publicKey, at);
    }

    // ------------------------------------------------------------------ reads

    /// @inheritdoc ICertRegistry
    /// @dev ("", "", false) when the agency does not exist.
    function agencyInfo(bytes32 agencyId) external view returns (string memory code, string memory name, bool active) {
        Agency storage agency = _agencies[agencyId];
        return (agency.code, agency.name, agency.active);
    }

    /// @inheritdoc ICertRegistry
    function keyOf(bytes32 agencyId, bytes32 ed25519PublicKey) external view returns (uint64 validFrom, uint64 revokedAt) {
        Key storage key = _keys[agencyId][ed25519PublicKey];
        return (key.validFrom, key.revokedAt);
    }

    /// @inheritdoc ICertRegistry
    function isPermitted(bytes32 agencyId, bytes32 typeId) external view returns (bool) {
        return _permitted[agencyId][typeId];
    }

    /// @inheritdoc ICertRegistry
    /// @dev Zero when the address is not an operator.
    function agencyOf(address operator) external view returns (bytes32 agencyId) {
        return _operatorAgency[operator];
    }

    /// @inheritdoc ICertRegistry
    /// @dev Zero for 0 or an index past agencyCount().
    function agencyIdAt(uint32 index) external view returns (bytes32 agencyId) {
        return _agencyIdAt[index];
    }

    /// @inheritdoc ICertRegistry
    function agencyCount() external view returns (uint32) {
        return _agencyCount;
    }

    /// @inheritdoc ICertRegistry
    /// @dev (0, false) when the address is not an operator.
    function operatorInfo(address operator) external view returns (bytes32 agencyId, bool active) {
        agencyId = _operatorAgency[operator];
        if (agencyId != bytes32(0)) active = _agencies[agencyId].active;
    }

    /// @dev Advertises ICertRegistry beside AccessControl's interfaces.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(ICertRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ internals

    function _requireAgency(bytes32 agencyId) private view {
        if (!_agencies[agencyId].exists) revert UnknownAgency(agencyId);
    }

    /// Governance, or an operator of `agencyId` itself (never of another agency).
    function _requireAgencyAuthority(bytes32 agencyId) private view {
        bytes32 own = _operatorAgency[msg.sender];
        // `own == 0` matters: a non-operator must not pass for the (nonexistent) agency 0.
        if ((own == bytes32(0) || own != agencyId) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert NotAgencyOperator(msg.sender, agencyId);
        }
    }

    /// [a-z0-9-]{3,64}; checked on chain so no off-chain tool can register a code that other
    /// implementations would reject.
    function _isValidCode(bytes calldata code) private pure returns (bool) {
        uint256 n = code.length;
        if (n < 3 || n > 64) return false;
        for (uint256 i; i < n; ++i) {
            bytes1 c = code[i];
            if (!((c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-")) return false;
        }
        return true;
    }

    /// 1..200 bytes: a credential's issuer.name repeats it, so it must exist and stay small.
    function _requireValidName(string calldata name) private pure {
        uint256 n = bytes(name).length;
        if (n == 0 || n > MAX_NAME_BYTES) revert InvalidAgencyName();
    }

    /// Zero, y >= p (non-canonical: a second spelling of a point) or a small-order point. The key is
    /// the raw Ed25519 encoding: little-endian y, sign of x in the top bit of the last byte, which is
    /// the least significant byte when the bytes32 is read as uint256. Whether y is on the curve at
    /// all takes a modular square root, too costly here; off chain, CertLedger refuses such a key
    /// wherever it reads one (key files, registration, verification).
    function _isWeakKey(bytes32 publicKey) private pure returns (bool) {
        uint256 y = uint256(publicKey) & ~SIGN_BIT; // both signs of x are equally weak
        if (
            y == SMALL_ORDER_Y0 || y == SMALL_ORDER_Y1 || y == SMALL_ORDER_P_MINUS_1 || y == SMALL_ORDER_8A
                || y == SMALL_ORDER_8B
        ) return true;
        // y >= p = 2^255 - 19: little-endian bytes 0xed..0xff, then 30 x 0xff, then 0x7f.
        return (y & TAIL_MASK) == HIGH_Y_TAIL && (y >> 248) >= 0xed;
    }
}
