import { buildMessage, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * How many decimals a number has, counted on its shortest round-trip decimal form: the digits
 * `String(value)` prints, which are the digits a JSON client wrote whenever it wrote at most 15
 * significant ones. Exponent notation is expanded (`1e-7` has 7 decimals, `1.5e21` has none), so a
 * binary float is judged by what it stands for, not by its exact binary expansion:
 *
 * - `1.1` and `0.3` have 1 decimal (their doubles are the nearest to those decimals);
 * - `0.1 + 0.2` is `0.30000000000000004`, 17 decimals: it is not the double of any 2-decimal price;
 * - `5e-324` (the smallest double) has 324; `-0` has none. NaN and infinities have no count (NaN).
 */
export const decimalPlaces = (value: number): number => {
  if (!Number.isFinite(value)) return Number.NaN;
  const [digits = '', exponent = '0'] = Math.abs(value).toString().split('e');
  const fraction = digits.split('.')[1]?.length ?? 0;
  return Math.max(0, fraction - Number(exponent));
};

/**
 * The value is a finite number with at most `places` decimals (see {@link decimalPlaces}). Replaces
 * class-validator's `IsNumber({ maxDecimalPlaces })`, which throws on exponent forms such as `1e-7`.
 * In the OpenAPI document declare the same rule as `multipleOf: 10 ** -places`.
 */
export const MaxDecimalPlaces = (places: number, options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'maxDecimalPlaces',
      constraints: [places],
      validator: {
        validate: (value: unknown) => typeof value === 'number' && decimalPlaces(value) <= places,
        defaultMessage: buildMessage(
          (each) => `${each}$property must be a number with at most $constraint1 decimal places`,
          options,
        ),
      },
    },
    options,
  );
