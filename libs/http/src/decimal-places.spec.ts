import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { decimalPlaces, MaxDecimalPlaces } from './decimal-places.js';

class Price {
  @MaxDecimalPlaces(2)
  amount!: unknown;
}

const errorsFor = (amount: unknown) => validateSync(plainToInstance(Price, { amount }));

describe('decimalPlaces', () => {
  it.each([
    [0, 0],
    [-0, 0],
    [7, 0],
    [1.1, 1],
    [0.3, 1],
    [1.25, 2],
    [19.99, 2],
    [0.01, 2],
    [-0.01, 2],
    [12.345, 3],
    [0.1 + 0.2, 17],
    [1e-7, 7], // also what the JSON text 0.0000001 parses to
    [1.5e-7, 8],
    [0.0000123, 7],
    [5e-324, 324],
    [1e21, 0],
    [1.5e21, 0],
    [Number.MAX_VALUE, 0],
    [Number.MAX_SAFE_INTEGER, 0],
  ])('counts %p as %p decimals', (value, places) => {
    expect(decimalPlaces(value)).toBe(places);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('has no count for %p', (value) => {
    expect(decimalPlaces(value)).toBeNaN();
  });
});

describe('MaxDecimalPlaces(2)', () => {
  describe('when the number has at most 2 decimals in its shortest form', () => {
    it.each([0, -0, 1, 1.1, 1.25, 19.99, 0.01, 1_000_000, 1e21])('accepts %p', (amount) => {
      expect(errorsFor(amount)).toEqual([]);
    });
  });

  describe('when it has more, or is no finite number', () => {
    it.each([12.345, 0.1 + 0.2, 1e-7, 5e-324, 1.001, Number.NaN, Number.POSITIVE_INFINITY])(
      'refuses %p with a message naming the rule',
      (amount) => {
        const [error] = errorsFor(amount);
        expect(error?.constraints).toEqual({
          maxDecimalPlaces: 'amount must be a number with at most 2 decimal places',
        });
      },
    );

    it.each(['1.5', null, undefined, true, [1], { value: 1 }])(
      'refuses the non-number %p without throwing',
      (amount) => {
        expect(errorsFor(amount)).toHaveLength(1);
      },
    );
  });
});
