import { expect } from 'chai';
import { DomainError } from '../../server/domain/errors.js';
import { nameKey, numberedName, validateName } from '../../server/domain/names.js';

const refused = (raw: unknown) => {
  try {
    validateName(raw);
  } catch (err) {
    return err instanceof DomainError && err.code === 'invalid_name';
  }
  return false;
};

describe('names (domain)', () => {
  it('returns the NFC form of a valid name', () => {
    expect(validateName('cafe\u0301')).to.equal('caf\u00e9');
    expect(validateName('plain.txt')).to.equal('plain.txt');
    expect(validateName('é'.repeat(127) + 'a')).to.have.length(128); // 255 bytes
  });

  it('refuses what is not a single, sane path segment', () => {
    for (const bad of [
      undefined,
      null,
      5,
      {},
      '',
      '.',
      '..',
      '/',
      'a/b',
      'a\\b',
      '\u0000',
      'a\u0000',
      '\n',
      '\r',
      '\u001f',
      '\u007f',
      '\u0080',
      '\u009f',
      '   ',
      'é'.repeat(127) + 'ab',
      'x'.repeat(256),
      '\uD800',
      'a\uDFFFb',
    ]) {
      expect(refused(bad), JSON.stringify(bad)).to.equal(true);
    }
    for (const good of [
      '...',
      '. .',
      '.x',
      'x.',
      ' x',
      'x '.repeat(100).trim(),
      '\u200B',
      '😀',
      'a'.repeat(255),
      '\u00a0x',
    ]) {
      expect(refused(good), JSON.stringify(good)).to.equal(false);
    }
  });

  it('counts the limit in UTF-8 bytes after NFC', () => {
    // 'e' + combining acute is 3 bytes in NFD but 2 in NFC: 128 of them fit once composed (256 → refused).
    expect(refused('e\u0301'.repeat(127))).to.equal(false);
    expect(refused('e\u0301'.repeat(128))).to.equal(true);
  });

  it('keys names case- and normalisation-insensitively', () => {
    expect(nameKey('A.TXT')).to.equal(nameKey('a.txt'));
    expect(nameKey('ÉCOLE')).to.equal(nameKey('école'));
    expect(nameKey('cafe\u0301')).to.equal(nameKey('CAFÉ'));
    expect(nameKey('a.txt')).to.not.equal(nameKey('a.txt '));
  });

  it('numbers a name before its extension, and folders and dotfiles as a whole', () => {
    expect(numberedName('report.pdf', 1)).to.equal('report (1).pdf');
    expect(numberedName('archive.tar.gz', 2)).to.equal('archive.tar (2).gz');
    expect(numberedName('.bashrc', 1)).to.equal('.bashrc (1)');
    expect(numberedName('photos.2024', 3, false)).to.equal('photos.2024 (3)');
  });
});
